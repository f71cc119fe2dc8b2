// treetool: test helper for vdiskfs.
//
//   treetool hash DIR                          digest of a whole tree (metadata + content;
//                                              no atimes of directories and symlinks)
//   treetool compare SRC DST [--ignore NAME]... report every difference between two trees
//   treetool mksock PATH                       create a unix domain socket file
//   treetool settime PATH SEC NSEC             set atime+mtime without following symlinks
//
// Symlinks are never followed, and files and directories are opened with
// O_NOATIME so that walking a tree does not change its atimes.
//
// Exit codes: 0 success / no differences, 1 differences found, 2 usage or I/O error.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>
#include <dirent.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr int kExitOk = 0;
constexpr int kExitDiff = 1;
constexpr int kExitError = 2;

// Size of every read; both trees are read in chunks of this many bytes.
constexpr size_t kChunk = 1 << 20;
// Granularity at which `hash` skips all-zero blocks, making its content digest
// independent of how holes are laid out.
constexpr size_t kZeroBlock = 4096;
// At most this many DIFF lines are printed; the rest are only counted.
constexpr size_t kMaxPrintedDiffs = 50;

// Fatal usage or I/O problem; main() prints it and exits with code 2.
struct ToolError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws a ToolError describing a failed system call on `path`.
[[noreturn]] void fail(const std::string& what, const std::string& path, int err = errno) {
    throw ToolError(what + " " + path + ": " + std::strerror(err));
}

// Owns a file descriptor and closes it when destroyed.
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    // Returns the raw descriptor (-1 if none).
    int get() const { return fd_; }

private:
    // Closes the descriptor if one is held.
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    int fd_;
};

// Deleter that closes a DIR stream (for std::unique_ptr).
struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};

// Joins a relative path and a child name ("" is the tree root).
std::string joinPath(const std::string& rel, const std::string& name) {
    return rel.empty() ? name : rel + "/" + name;
}

// Returns the path of a tree entry for error messages (the root itself for "").
std::string displayPath(const std::string& root, const std::string& rel) {
    return rel.empty() ? root : root + "/" + rel;
}

// Renders a path for output: control bytes become \xNN, everything else is kept.
std::string printable(const std::string& s) {
    std::string out;
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f || c == '\\') {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out.empty() ? "." : out;
}

// Opens `name` under `dirfd` read-only without following symlinks, with O_NOATIME
// unless the kernel refuses it (EPERM when we do not own the file).
Fd openNoAtime(int dirfd, const std::string& name, int extraFlags, const std::string& display) {
    const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | extraFlags;
    int fd = ::openat(dirfd, name.c_str(), flags | O_NOATIME);
    if (fd < 0 && errno == EPERM) fd = ::openat(dirfd, name.c_str(), flags);
    if (fd < 0) fail("cannot open", display);
    return Fd(fd);
}

// Returns lstat() of `name` under `dirfd`.
struct stat statAt(int dirfd, const std::string& name, const std::string& display) {
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) fail("cannot lstat", display);
    return st;
}

// Returns the names in an open directory (without "." and ".."), sorted bytewise.
std::vector<std::string> listDir(int dirfd, const std::string& display) {
    // fdopendir() takes ownership, so hand it a duplicate (which shares O_NOATIME).
    int dupfd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dupfd < 0) fail("cannot dup", display);
    std::unique_ptr<DIR, DirCloser> dir(::fdopendir(dupfd));
    if (!dir) {
        int err = errno;
        ::close(dupfd);
        fail("cannot read directory", display, err);
    }
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* de = ::readdir(dir.get())) {
        std::string name = de->d_name;
        if (name != "." && name != "..") names.push_back(std::move(name));
        errno = 0;
    }
    if (errno != 0) fail("cannot read directory", display);
    std::sort(names.begin(), names.end());
    return names;
}

// Returns the target of the symlink `name` under `dirfd`.
std::string readLinkAt(int dirfd, const std::string& name, const std::string& display) {
    std::vector<char> buf(256);
    for (;;) {
        ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
        if (n < 0) fail("cannot readlink", display);
        if (static_cast<size_t>(n) < buf.size()) return std::string(buf.data(), static_cast<size_t>(n));
        buf.resize(buf.size() * 2);
    }
}

// Reads exactly `n` bytes at `off`; a short read means the file changed under us.
void preadFull(int fd, char* buf, size_t n, off_t off, const std::string& display) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = ::pread(fd, buf + done, n - done, off + static_cast<off_t>(done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) fail("cannot read", display);
        if (r == 0) throw ToolError("unexpected end of file in " + display);
        done += static_cast<size_t>(r);
    }
}

// Returns the first data offset at or after `off`, or `size` if only a hole remains.
// Filesystems without SEEK_DATA support are treated as fully dense.
off_t nextData(int fd, off_t off, off_t size, const std::string& display) {
    if (off >= size) return size;
    off_t r = ::lseek(fd, off, SEEK_DATA);
    if (r >= 0) return std::min(r, size);
    if (errno == ENXIO) return size;
    if (errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS) return off;
    fail("cannot seek (SEEK_DATA)", display);
}

// Returns the end of the data segment starting at `off` (the next hole), capped at `size`.
off_t nextHole(int fd, off_t off, off_t size, const std::string& display) {
    if (off >= size) return size;
    off_t r = ::lseek(fd, off, SEEK_HOLE);
    if (r >= 0) return std::min(r, size);
    if (errno == ENXIO || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS) return size;
    fail("cannot seek (SEEK_HOLE)", display);
}

// True if all `n` bytes at `p` are zero.
bool allZero(const char* p, size_t n) {
    return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0);
}

// Short name of a file type, for messages.
const char* typeName(mode_t mode) {
    switch (mode & S_IFMT) {
        case S_IFREG: return "file";
        case S_IFDIR: return "dir";
        case S_IFLNK: return "symlink";
        case S_IFIFO: return "fifo";
        case S_IFSOCK: return "socket";
        case S_IFCHR: return "chardev";
        case S_IFBLK: return "blockdev";
        default: return "unknown";
    }
}

// True for character and block devices, whose rdev is meaningful.
bool isDevice(mode_t mode) {
    return S_ISCHR(mode) || S_ISBLK(mode);
}

// Formats a timestamp as SEC.NNNNNNNNN.
std::string formatTime(const timespec& ts) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%lld.%09ld", static_cast<long long>(ts.tv_sec), ts.tv_nsec);
    return buf;
}

// Formats a mode in octal (type bits included).
std::string formatMode(mode_t mode) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0%o", static_cast<unsigned>(mode));
    return buf;
}

// Formats a device number as MAJOR:MINOR.
std::string formatDev(dev_t dev) {
    return std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
}

// Identity of an inode, used to detect hard links.
using InodeKey = std::pair<dev_t, ino_t>;

// Returns the inode identity of a stat result.
InodeKey inodeKey(const struct stat& st) {
    return {st.st_dev, st.st_ino};
}

// Raises the open-file limit so that very deep trees (one fd per level) can be walked.
void raiseFdLimit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

// ---------------------------------------------------------------------------
// hash

// Incremental XXH3-128 digest with helpers for fixed-width fields.
class Digest {
public:
    Digest() : state_(XXH3_createState()) {
        if (!state_) throw ToolError("out of memory");
        XXH3_128bits_reset(state_);
    }
    ~Digest() { XXH3_freeState(state_); }
    Digest(const Digest&) = delete;
    Digest& operator=(const Digest&) = delete;

    // Adds raw bytes.
    void bytes(const void* p, size_t n) { XXH3_128bits_update(state_, p, n); }
    // Adds a 64-bit integer.
    void u64(uint64_t v) { bytes(&v, sizeof v); }
    // Adds a length-prefixed string.
    void str(const std::string& s) {
        u64(s.size());
        bytes(s.data(), s.size());
    }
    // Adds another digest's 128-bit value.
    void hash128(XXH128_hash_t h) {
        u64(h.high64);
        u64(h.low64);
    }
    // Returns the current digest value.
    XXH128_hash_t value() const { return XXH3_128bits_digest(state_); }
    // Returns the current digest as 32 hex digits.
    std::string hex() const {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, value());
        std::string out;
        char buf[3];
        for (unsigned char b : c.digest) {
            std::snprintf(buf, sizeof buf, "%02x", b);
            out += buf;
        }
        return out;
    }

private:
    XXH3_state_t* state_;
};

// Digest of a regular file's bytes that does not depend on its hole layout: the
// file is split into kZeroBlock blocks and only non-zero blocks are hashed, together
// with their index. Holes are skipped with SEEK_DATA/SEEK_HOLE without reading.
XXH128_hash_t fileContentDigest(int fd, off_t size, const std::string& display) {
    Digest d;
    d.u64(static_cast<uint64_t>(size));
    std::vector<char> buf(kChunk);
    const off_t block = static_cast<off_t>(kZeroBlock);
    off_t cursor = 0;  // everything before this has been hashed (always block aligned or == size)
    while (cursor < size) {
        off_t dataStart = nextData(fd, cursor, size, display);
        if (dataStart >= size) break;
        off_t dataEnd = nextHole(fd, dataStart, size, display);
        off_t from = std::max(cursor, dataStart / block * block);
        off_t to = std::min(size, (dataEnd + block - 1) / block * block);
        for (off_t pos = from; pos < to;) {
            size_t n = static_cast<size_t>(std::min<off_t>(static_cast<off_t>(kChunk), to - pos));
            preadFull(fd, buf.data(), n, pos, display);
            for (size_t i = 0; i < n; i += kZeroBlock) {
                size_t len = std::min(kZeroBlock, n - i);
                if (allZero(buf.data() + i, len)) continue;
                d.u64(static_cast<uint64_t>(pos + static_cast<off_t>(i)) / kZeroBlock);
                d.bytes(buf.data() + i, len);
            }
            pos += static_cast<off_t>(n);
        }
        cursor = to;
    }
    return d.value();
}

// Computes the whole-tree digest of `hash`.
class TreeHasher {
public:
    // Returns the hex digest of the tree rooted at `root`.
    std::string run(const std::string& root) {
        root_ = root;
        visit(AT_FDCWD, root, "");
        return tree_.hex();
    }

private:
    // Hashes one entry and, for directories, its children in name order.
    void visit(int parentfd, const std::string& name, const std::string& rel) {
        const std::string display = displayPath(root_, rel);
        const struct stat st = statAt(parentfd, name, display);
        const uint64_t index = entries_++;
        hashMetadata(rel, st, index);
        if (S_ISLNK(st.st_mode)) tree_.str(readLinkAt(parentfd, name, display));
        if (S_ISREG(st.st_mode)) {
            Fd fd = openNoAtime(parentfd, name, O_NONBLOCK, display);
            tree_.hash128(fileContentDigest(fd.get(), st.st_size, display));
        }
        if (S_ISDIR(st.st_mode)) {
            Fd dir = openNoAtime(parentfd, name, O_DIRECTORY, display);
            for (const std::string& child : listDir(dir.get(), display)) {
                visit(dir.get(), child, joinPath(rel, child));
            }
        }
    }

    // Hashes the stat fields of one entry plus its hard-link group.
    // A symlink's atime is left out: readlink(2) updates it (O_NOATIME cannot be
    // used on symlinks), so it is not a stable property of the tree. A
    // directory's is left out too: any other reader of the machine that lists
    // it (a backup, updatedb, a shell's completion) moves it. File atimes stay:
    // the source must be read with O_NOATIME, and this checks that it is.
    void hashMetadata(const std::string& rel, const struct stat& st, uint64_t index) {
        const bool sized = S_ISREG(st.st_mode) || S_ISLNK(st.st_mode);
        const bool atime = !S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode);
        tree_.str(rel);
        tree_.u64(st.st_mode & S_IFMT);
        tree_.u64(st.st_mode);
        tree_.u64(st.st_uid);
        tree_.u64(st.st_gid);
        tree_.u64(sized ? static_cast<uint64_t>(st.st_size) : 0);
        tree_.u64(static_cast<uint64_t>(st.st_mtim.tv_sec));
        tree_.u64(static_cast<uint64_t>(st.st_mtim.tv_nsec));
        tree_.u64(atime ? static_cast<uint64_t>(st.st_atim.tv_sec) : 0);
        tree_.u64(atime ? static_cast<uint64_t>(st.st_atim.tv_nsec) : 0);
        tree_.u64(isDevice(st.st_mode) ? static_cast<uint64_t>(st.st_rdev) : 0);
        tree_.u64(linkGroup(st, index));
    }

    // Returns the index of the first entry seen with this inode (hard-link identity).
    uint64_t linkGroup(const struct stat& st, uint64_t index) {
        return firstIndex_.try_emplace(inodeKey(st), index).first->second;
    }

    std::string root_;
    Digest tree_;
    uint64_t entries_ = 0;
    std::map<InodeKey, uint64_t> firstIndex_;
};

// Entry point of `treetool hash DIR`.
int cmdHash(const std::vector<std::string>& args) {
    if (args.size() != 1) throw ToolError("usage: treetool hash DIR");
    std::printf("%s\n", TreeHasher().run(args[0]).c_str());
    return kExitOk;
}

// ---------------------------------------------------------------------------
// compare

// Walks two trees in lockstep and records every difference.
class TreeComparer {
public:
    TreeComparer(std::string src, std::string dst, std::set<std::string> ignored)
        : srcRoot_(std::move(src)), dstRoot_(std::move(dst)), ignored_(std::move(ignored)),
          srcBuf_(kChunk), dstBuf_(kChunk) {}

    // Compares the trees, prints the result and returns the exit code.
    int run() {
        compareEntry(AT_FDCWD, srcRoot_, AT_FDCWD, dstRoot_, "");
        checkLinkCounts();
        if (diffs_ > kMaxPrintedDiffs) {
            std::printf("... %zu more differences not shown\n", diffs_ - kMaxPrintedDiffs);
        }
        std::printf("compare: %zu entries, %zu differences\n", entries_, diffs_);
        return diffs_ == 0 ? kExitOk : kExitDiff;
    }

private:
    // Per-inode bookkeeping in DST: how many walked paths share it and what it claims.
    struct DstGroup {
        std::string firstRel;
        nlink_t nlink = 0;
        size_t paths = 0;
    };

    // Records (and maybe prints) one difference.
    void report(const std::string& rel, const std::string& what, const std::string& src,
                const std::string& dst) {
        if (++diffs_ <= kMaxPrintedDiffs) {
            std::printf("DIFF %s: %s src=%s dst=%s\n", printable(rel).c_str(), what.c_str(),
                        printable(src).c_str(), printable(dst).c_str());
        }
    }

    // Compares one path present in both trees (and recurses into directories).
    void compareEntry(int sparent, const std::string& sname, int dparent, const std::string& dname,
                      const std::string& rel) {
        ++entries_;
        const std::string sdisp = displayPath(srcRoot_, rel), ddisp = displayPath(dstRoot_, rel);
        const struct stat s = statAt(sparent, sname, sdisp);
        const struct stat d = statAt(dparent, dname, ddisp);
        if ((s.st_mode & S_IFMT) != (d.st_mode & S_IFMT)) {
            report(rel, "type", typeName(s.st_mode), typeName(d.st_mode));
            return;
        }
        compareMetadata(rel, s, d);
        if (S_ISLNK(s.st_mode)) {
            compareField(rel, "target", readLinkAt(sparent, sname, sdisp), readLinkAt(dparent, dname, ddisp));
        }
        if (S_ISREG(s.st_mode) && s.st_size == d.st_size) {
            Fd sfd = openNoAtime(sparent, sname, O_NONBLOCK, sdisp);
            Fd dfd = openNoAtime(dparent, dname, O_NONBLOCK, ddisp);
            compareContent(rel, sfd.get(), dfd.get(), s.st_size);
        }
        if (S_ISDIR(s.st_mode)) {
            Fd sdir = openNoAtime(sparent, sname, O_DIRECTORY, sdisp);
            Fd ddir = openNoAtime(dparent, dname, O_DIRECTORY, ddisp);
            compareChildren(sdir.get(), ddir.get(), rel);
        } else {
            noteHardLink(rel, s, d);
        }
    }

    // Reports a field whose values differ.
    void compareField(const std::string& rel, const char* what, const std::string& s,
                      const std::string& d) {
        if (s != d) report(rel, what, s, d);
    }

    // Compares mode, owner, size, mtime and rdev of two entries of the same type.
    void compareMetadata(const std::string& rel, const struct stat& s, const struct stat& d) {
        compareField(rel, "mode", formatMode(s.st_mode), formatMode(d.st_mode));
        compareField(rel, "uid", std::to_string(s.st_uid), std::to_string(d.st_uid));
        compareField(rel, "gid", std::to_string(s.st_gid), std::to_string(d.st_gid));
        if (S_ISREG(s.st_mode) || S_ISLNK(s.st_mode)) {
            compareField(rel, "size", std::to_string(s.st_size), std::to_string(d.st_size));
        }
        compareField(rel, "mtime", formatTime(s.st_mtim), formatTime(d.st_mtim));
        if (isDevice(s.st_mode)) compareField(rel, "rdev", formatDev(s.st_rdev), formatDev(d.st_rdev));
    }

    // Merges the sorted child lists of two directories, comparing common names.
    void compareChildren(int sdir, int ddir, const std::string& rel) {
        const std::vector<std::string> sn = listChildren(sdir, srcRoot_, rel);
        const std::vector<std::string> dn = listChildren(ddir, dstRoot_, rel);
        size_t i = 0, j = 0;
        while (i < sn.size() || j < dn.size()) {
            if (j == dn.size() || (i < sn.size() && sn[i] < dn[j])) {
                reportOneSided(sdir, sn[i++], rel, srcRoot_, true);
            } else if (i == sn.size() || dn[j] < sn[i]) {
                reportOneSided(ddir, dn[j++], rel, dstRoot_, false);
            } else {
                compareEntry(sdir, sn[i], ddir, dn[j], joinPath(rel, sn[i]));
                ++i;
                ++j;
            }
        }
    }

    // Lists a directory's children, dropping --ignore names at the top level.
    std::vector<std::string> listChildren(int dirfd, const std::string& root, const std::string& rel) {
        std::vector<std::string> names = listDir(dirfd, displayPath(root, rel));
        if (rel.empty()) {
            std::erase_if(names, [this](const std::string& n) { return ignored_.count(n) != 0; });
        }
        return names;
    }

    // Reports a path that exists in only one tree.
    void reportOneSided(int dirfd, const std::string& name, const std::string& rel,
                        const std::string& root, bool inSrc) {
        ++entries_;
        const std::string child = joinPath(rel, name);
        const struct stat st = statAt(dirfd, name, displayPath(root, child));
        const std::string type = typeName(st.st_mode);
        report(child, "presence", inSrc ? type : "missing", inSrc ? "missing" : type);
    }

    // Compares file bytes, using SEEK_DATA on both sides so sparse regions are cheap.
    void compareContent(const std::string& rel, int sfd, int dfd, off_t size) {
        const std::string sdisp = displayPath(srcRoot_, rel), ddisp = displayPath(dstRoot_, rel);
        off_t pos = 0;
        while (pos < size) {
            const off_t dataStart = nextData(sfd, pos, size, sdisp);
            if (!dstZeroBetween(rel, dfd, pos, dataStart)) return;
            if (dataStart >= size) return;
            const off_t dataEnd = nextHole(sfd, dataStart, size, sdisp);
            if (!bytesEqualBetween(rel, sfd, dfd, dataStart, dataEnd)) return;
            pos = dataEnd;
        }
    }

    // Checks that DST reads as zeros in [from, to) (a hole in SRC); reports the first non-zero byte.
    bool dstZeroBetween(const std::string& rel, int dfd, off_t from, off_t to) {
        const std::string ddisp = displayPath(dstRoot_, rel);
        off_t pos = from;
        while (pos < to) {
            const off_t dataStart = nextData(dfd, pos, to, ddisp);
            if (dataStart >= to) return true;
            const off_t dataEnd = nextHole(dfd, dataStart, to, ddisp);
            for (off_t p = dataStart; p < dataEnd;) {
                const size_t n = static_cast<size_t>(std::min<off_t>(static_cast<off_t>(kChunk), dataEnd - p));
                preadFull(dfd, dstBuf_.data(), n, p, ddisp);
                if (!allZero(dstBuf_.data(), n)) {
                    const auto nz = std::find_if(dstBuf_.begin(), dstBuf_.end(), [](char c) { return c != 0; });
                    reportByte(rel, p + (nz - dstBuf_.begin()), 0, *nz);
                    return false;
                }
                p += static_cast<off_t>(n);
            }
            pos = dataEnd;
        }
        return true;
    }

    // Checks that SRC and DST hold the same bytes in [from, to); reports the first mismatch.
    bool bytesEqualBetween(const std::string& rel, int sfd, int dfd, off_t from, off_t to) {
        const std::string sdisp = displayPath(srcRoot_, rel), ddisp = displayPath(dstRoot_, rel);
        for (off_t p = from; p < to;) {
            const size_t n = static_cast<size_t>(std::min<off_t>(static_cast<off_t>(kChunk), to - p));
            preadFull(sfd, srcBuf_.data(), n, p, sdisp);
            preadFull(dfd, dstBuf_.data(), n, p, ddisp);
            if (std::memcmp(srcBuf_.data(), dstBuf_.data(), n) != 0) {
                const auto mm = std::mismatch(srcBuf_.begin(), srcBuf_.begin() + static_cast<long>(n),
                                              dstBuf_.begin());
                const off_t at = p + (mm.first - srcBuf_.begin());
                reportByte(rel, at, *mm.first, *mm.second);
                return false;
            }
            p += static_cast<off_t>(n);
        }
        return true;
    }

    // Reports the first differing byte of a file.
    void reportByte(const std::string& rel, off_t at, char s, char d) {
        char sb[8], db[8];
        std::snprintf(sb, sizeof sb, "0x%02x", static_cast<unsigned char>(s));
        std::snprintf(db, sizeof db, "0x%02x", static_cast<unsigned char>(d));
        report(rel, "content@" + std::to_string(at), sb, db);
    }

    // Checks that the path's SRC and DST inodes group it with the same earlier paths,
    // which holds for every path exactly when the hard-link partitions are equal.
    void noteHardLink(const std::string& rel, const struct stat& s, const struct stat& d) {
        const std::string& sFirst = srcFirst_.try_emplace(inodeKey(s), rel).first->second;
        DstGroup& group = dstGroups_.try_emplace(inodeKey(d), DstGroup{rel, d.st_nlink, 0}).first->second;
        ++group.paths;
        if (sFirst != group.firstRel) report(rel, "hardlink-group", sFirst, group.firstRel);
    }

    // Checks that each DST inode's st_nlink equals the number of its paths found in DST.
    void checkLinkCounts() {
        for (const auto& [key, group] : dstGroups_) {
            if (group.nlink != group.paths) {
                report(group.firstRel, "nlink(paths-found-vs-dst-st_nlink)", std::to_string(group.paths),
                       std::to_string(group.nlink));
            }
        }
    }

    std::string srcRoot_, dstRoot_;
    std::set<std::string> ignored_;
    std::vector<char> srcBuf_, dstBuf_;
    size_t entries_ = 0;
    size_t diffs_ = 0;
    std::map<InodeKey, std::string> srcFirst_;
    std::map<InodeKey, DstGroup> dstGroups_;
};

// Entry point of `treetool compare SRC DST [--ignore NAME]...`.
int cmdCompare(const std::vector<std::string>& args) {
    const char* usage = "usage: treetool compare SRC DST [--ignore NAME]...";
    std::vector<std::string> roots;
    std::set<std::string> ignored;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--ignore") {
            if (++i == args.size()) throw ToolError(usage);
            ignored.insert(args[i]);
        } else {
            roots.push_back(args[i]);
        }
    }
    if (roots.size() != 2) throw ToolError(usage);
    return TreeComparer(roots[0], roots[1], std::move(ignored)).run();
}

// ---------------------------------------------------------------------------
// mksock, settime

// Entry point of `treetool mksock PATH`: binds a unix socket at PATH and leaves the file.
int cmdMksock(const std::vector<std::string>& args) {
    if (args.size() != 1) throw ToolError("usage: treetool mksock PATH");
    const std::string& path = args[0];
    // sun_path is short, so bind the base name from inside the parent directory.
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (base.empty() || base.size() >= sizeof addr.sun_path) throw ToolError("bad socket name: " + path);
    std::memcpy(addr.sun_path, base.c_str(), base.size() + 1);
    if (::chdir(dir.c_str()) != 0) fail("cannot chdir to", dir);
    Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (sock.get() < 0) fail("cannot create socket for", path);
    if (::bind(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) fail("cannot bind", path);
    return kExitOk;
}

// Parses a signed decimal integer argument or throws.
long long parseInt(const std::string& s, const char* what) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno != 0) throw ToolError(std::string("bad ") + what + ": " + s);
    return v;
}

// Entry point of `treetool settime PATH SEC NSEC`: sets atime and mtime, never following symlinks.
int cmdSettime(const std::vector<std::string>& args) {
    if (args.size() != 3) throw ToolError("usage: treetool settime PATH SEC NSEC");
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(parseInt(args[1], "seconds"));
    const long long nsec = parseInt(args[2], "nanoseconds");
    if (nsec < 0 || nsec > 999999999) throw ToolError("nanoseconds out of range: " + args[2]);
    ts.tv_nsec = static_cast<long>(nsec);
    const timespec times[2] = {ts, ts};
    if (::utimensat(AT_FDCWD, args[0].c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) fail("cannot set times on", args[0]);
    return kExitOk;
}

// Entry point of `treetool mksparse PATH SIZE COUNT STRIDE`: a sparse file of SIZE bytes
// with COUNT chunks of 4096 pseudo-random bytes at multiples of STRIDE, so that a
// filesystem needs one extent per chunk.
int cmdMksparse(const std::vector<std::string>& args) {
    if (args.size() != 4) throw ToolError("usage: treetool mksparse PATH SIZE COUNT STRIDE");
    const long long size = parseInt(args[1], "size");
    const long long count = parseInt(args[2], "count");
    const long long stride = parseInt(args[3], "stride");
    if (size < 0 || count < 0 || stride < 4096 || count * stride > size)
        throw ToolError("mksparse: chunks must fit: COUNT*STRIDE <= SIZE, STRIDE >= 4096");
    Fd fd(::open(args[0].c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.get() < 0) fail("cannot create", args[0]);
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) fail("cannot size", args[0]);
    uint64_t state = 0x9E3779B97F4A7C15ull;
    char chunk[4096];
    for (long long i = 0; i < count; ++i) {
        for (size_t j = 0; j < sizeof chunk; j += 8) {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;  // xorshift64
            std::memcpy(chunk + j, &state, 8);
        }
        if (::pwrite(fd.get(), chunk, sizeof chunk, static_cast<off_t>(i * stride)) != static_cast<ssize_t>(sizeof chunk))
            fail("cannot write", args[0]);
    }
    return kExitOk;
}

// Dispatches a subcommand.
int dispatch(const std::string& cmd, const std::vector<std::string>& args) {
    if (cmd == "hash") return cmdHash(args);
    if (cmd == "compare") return cmdCompare(args);
    if (cmd == "mksock") return cmdMksock(args);
    if (cmd == "settime") return cmdSettime(args);
    if (cmd == "mksparse") return cmdMksparse(args);
    throw ToolError("usage: treetool {hash DIR | compare SRC DST [--ignore NAME]... | mksock PATH | "
                    "settime PATH SEC NSEC | mksparse PATH SIZE COUNT STRIDE}");
}

}  // namespace

int main(int argc, char** argv) {
    try {
        raiseFdLimit();
        const std::string cmd = argc > 1 ? argv[1] : "";
        std::vector<std::string> args(argv + std::min(argc, 2), argv + argc);
        const int rc = dispatch(cmd, args);
        std::fflush(stdout);
        return rc;
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "treetool: %s\n", e.what());
        return kExitError;
    }
}
