// SourceView (issue #15): one volume's share of a source. The base is an
// in-memory source made with TreeBuilder that serves bytes per node; the
// view's tree (subtree root, cut and added folders, generated files,
// aliases, hard links, xattrs, holes), its reads and its data order are
// checked against what the base holds.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/image/error.h"
#include "core/source/source_view.h"
#include "core/source/tree_builder.h"

using namespace vdiskfs;

namespace {

using Lines = std::vector<std::string>;
using Xattrs = std::vector<std::pair<std::string, std::string>>;

// A source held in memory: entries by path with their bytes, hard links by
// (link, target); data_order lists the regular files in reverse node order
// when `reversed`, else nothing (tree order).
class MemSource final : public Source {
 public:
  struct Entry {
    std::string path;
    EntrySpec spec;
    std::string bytes;
  };
  MemSource(const EntrySpec& root, std::vector<Entry> entries, const std::vector<std::pair<std::string, std::string>>& links,
            bool reversed)
      : reversed_(reversed) {
    Node implied{};
    implied.mode = S_IFDIR | 0755;
    TreeBuilder b(implied);
    REQUIRE(b.add("", root) == "");
    bytes_.emplace_back();
    for (Entry& e : entries) {
      e.spec.payload = bytes_.size();
      bytes_.push_back(std::move(e.bytes));
      REQUIRE(b.add(e.path, std::move(e.spec)) == "");
    }
    for (const auto& [link, target] : links) REQUIRE(b.add_hard_link(link, target) == "");
    tree_ = b.finish(payloads_);
  }
  std::string describe() const override { return "memory"; }
  const Tree& tree() const override { return tree_; }
  Status read_file(uint32_t node, uint64_t offset, uint8_t* buf, size_t len) const override {
    const std::string& bytes = bytes_[payloads_[node]];
    if (offset > bytes.size() || len > bytes.size() - offset) return Status::io_error;
    std::memcpy(buf, bytes.data() + offset, len);
    return Status::ok;
  }
  void data_order(std::vector<uint32_t>& files) const override {
    files.clear();
    if (!reversed_) return;
    for (uint32_t n = uint32_t(tree_.nodes.size()); n-- > 0;)
      if (tree_.nodes[n].is_regular()) files.push_back(n);
  }

 private:
  bool reversed_;
  Tree tree_;
  std::vector<uint64_t> payloads_;
  std::vector<std::string> bytes_;  // by payload
};

EntrySpec entry(uint32_t mode, uint32_t uid, uint32_t gid, int64_t mtime, uint64_t size = 0) {
  EntrySpec s;
  s.attrs.mode = mode;
  s.attrs.uid = uid;
  s.attrs.gid = gid;
  s.attrs.mtime = {mtime, 5};
  s.attrs.atime = {mtime + 1, 6};
  s.attrs.ctime = {mtime + 2, 7};
  s.attrs.btime = {mtime + 3, 8};
  s.attrs.size = size;
  return s;
}

MemSource::Entry file(const std::string& path, const std::string& bytes, uint32_t perm = 0644, uint32_t uid = 0,
                      uint32_t gid = 0, int64_t mtime = 1500) {
  return {path, entry(S_IFREG | perm, uid, gid, mtime, bytes.size()), bytes};
}

MemSource::Entry dir(const std::string& path, uint32_t perm, uint32_t uid = 0, uint32_t gid = 0, int64_t mtime = 1600) {
  return {path, entry(S_IFDIR | perm, uid, gid, mtime), ""};
}

// 10000 bytes: "ABCD" at 0 and "WXYZ" at 8192, a hole elsewhere.
std::string sparse_bytes() {
  std::string s(10000, '\0');
  s.replace(0, 4, "ABCD");
  s.replace(8192, 4, "WXYZ");
  return s;
}

// A backup: the view's root "srv" (0750, 10:20) and what lies beside it.
MemSource backup(bool reversed) {
  std::vector<MemSource::Entry> e;
  e.push_back(dir("srv", 0750, 10, 20, 2000));
  e.push_back(dir("srv/www", 0711));
  e.push_back(file("srv/www/index.html", "hello world", 0644, 33, 33));
  MemSource::Entry cut = dir("srv/cut", 0700, 33, 34, 3000);
  cut.spec.xattrs = {{"user.dir", "1"}};
  e.push_back(cut);
  e.push_back(file("srv/cut/inner", "inner bytes"));
  e.push_back(dir("srv/cut/sub", 0755));
  e.push_back(file("srv/etc/fstab", "old fstab\n", 0640, 0, 42, 4000));
  e.push_back(file("srv/a", "linked", 0600));
  e.push_back(file("elsewhere/c2", "outside"));
  MemSource::Entry sparse = file("srv/sparse", sparse_bytes());
  sparse.spec.sparse = true;
  sparse.spec.segments = {{0, 4}, {8192, 4}};
  e.push_back(sparse);
  MemSource::Entry x = file("srv/x", "xattr file");
  x.spec.xattrs = {{"user.a", "1"}, {"security.selinux", std::string("system_u:object_r:x\0", 20)}};
  e.push_back(x);
  MemSource::Entry loader = file("srv/loader.efi", "MZ loader", 0755);
  loader.spec.xattrs = {{"user.sig", "s"}};
  e.push_back(loader);
  MemSource::Entry link{"srv/link", entry(S_IFLNK | 0777, 0, 0, 1700, 10), ""};
  link.spec.link_target = "loader.efi";
  e.push_back(link);
  e.push_back(file("top", "top file"));
  return MemSource(entry(S_IFDIR | 0755, 5, 6, 1000), std::move(e),
                   {{"srv/b", "srv/a"}, {"srv/cut/a3", "srv/a"}, {"srv/c", "elsewhere/c2"}}, reversed);
}

ViewSpec srv_spec() {
  ViewSpec spec;
  spec.root = "srv";
  spec.cut = {"cut"};
  spec.added_dirs = {"mnt/new/deep", "www"};
  spec.generated = {{"etc/fstab", "new fstab text 0123456789"}, {"etc/new.conf", "conf"}};
  spec.aliases = {{"EFI/BOOT/BOOTX64.EFI", "loader.efi"}};
  return spec;
}

std::string read_all(const Source& s, uint32_t node, uint64_t offset, size_t len) {
  std::string out(len, '\0');
  REQUIRE(ok(s.read_file(node, offset, reinterpret_cast<uint8_t*>(out.data()), len)));
  return out;
}

Xattrs xattrs(const Tree& t, uint32_t node) {
  Xattrs out;
  auto [x, end] = t.xattrs_of(node);
  for (; x != end; ++x) out.emplace_back(t.xattr_name(*x), t.xattr_value(*x));
  return out;
}

uint32_t must(const Tree& t, const std::string& path) {
  INFO(path);
  const uint32_t n = t.lookup(path);
  REQUIRE(n != kNoIndex);
  return n;
}

std::vector<std::string> names(const Tree& t, uint32_t dir) {
  std::vector<std::string> out;
  const Node& d = t.nodes[dir];
  for (uint32_t i = t.child_begin(d); i < t.child_begin(d) + t.child_count(d); ++i) out.emplace_back(t.name(t.dirents[i]));
  return out;
}

void same_times(const Node& a, const Node& b) {
  CHECK(a.mtime == b.mtime);
  CHECK(a.atime == b.atime);
  CHECK(a.ctime == b.ctime);
  CHECK(a.btime == b.btime);
}

}  // namespace

TEST_CASE("SourceView: the subtree at the view's root, with its attributes", "[view]") {
  const MemSource base = backup(false);
  const SourceView view(base, srv_spec());
  const Tree& t = view.tree();
  const Tree& bt = base.tree();
  CHECK(view.describe() == "memory, srv");
  const Node& root = t.nodes[0];
  CHECK(root.mode == (S_IFDIR | 0750));
  CHECK(root.uid == 10);
  CHECK(root.gid == 20);
  same_times(root, bt.nodes[must(bt, "srv")]);
  CHECK(names(t, 0) == Lines{"EFI", "a", "b", "c", "cut", "etc", "link", "loader.efi", "mnt", "sparse", "www", "x"});
  CHECK(t.lookup("srv") == kNoIndex);
  CHECK(t.lookup("top") == kNoIndex);
  CHECK(t.lookup("elsewhere") == kNoIndex);
  const uint32_t index = must(t, "www/index.html");
  CHECK(t.nodes[index].uid == 33);
  CHECK(t.nodes[index].size == 11);
  CHECK(read_all(view, index, 0, 11) == "hello world");
  CHECK(read_all(view, index, 6, 5) == "world");
  const uint32_t link = must(t, "link");
  CHECK(t.nodes[link].is_symlink());
  CHECK(t.link_target(t.nodes[link]) == "loader.efi");
  ViewSpec named = srv_spec();
  named.describe = "directory /backup, /srv";
  CHECK(SourceView(base, named).describe() == "directory /backup, /srv");
}

TEST_CASE("SourceView: cut directories are empty and keep their attributes", "[view]") {
  const MemSource base = backup(false);
  const SourceView view(base, srv_spec());
  const Tree& t = view.tree();
  const uint32_t cut = must(t, "cut");
  const Node& n = t.nodes[cut];
  CHECK(n.is_dir());
  CHECK(t.child_count(n) == 0);
  CHECK(n.mode == (S_IFDIR | 0700));
  CHECK(n.uid == 33);
  CHECK(n.gid == 34);
  CHECK(n.nlink == 2);
  same_times(n, base.tree().nodes[must(base.tree(), "srv/cut")]);
  CHECK(xattrs(t, cut) == Xattrs{{"user.dir", "1"}});
  CHECK(t.lookup("cut/inner") == kNoIndex);
  CHECK(t.lookup("cut/sub") == kNoIndex);
}

TEST_CASE("SourceView: added directories and their parents exist with mode 0755", "[view]") {
  const MemSource base = backup(false);
  const SourceView view(base, srv_spec());
  const Tree& t = view.tree();
  for (const char* path : {"mnt", "mnt/new", "mnt/new/deep", "EFI", "EFI/BOOT"}) {
    INFO(path);
    const Node& n = t.nodes[must(t, path)];
    CHECK(n.mode == (S_IFDIR | 0755));
    CHECK(n.uid == 10);  // the view root's owners
    CHECK(n.gid == 20);
    same_times(n, t.nodes[0]);
  }
  CHECK(t.child_count(t.nodes[must(t, "mnt/new/deep")]) == 0);
  // An added directory the base has stays the base's.
  const uint32_t www = must(t, "www");
  CHECK(t.nodes[www].mode == (S_IFDIR | 0711));
  CHECK(names(t, www) == Lines{"index.html"});
}

TEST_CASE("SourceView: a generated file replaces the base's, keeping its owners, mode and times", "[view]") {
  const MemSource base = backup(false);
  const SourceView view(base, srv_spec());
  const Tree& t = view.tree();
  const std::string bytes = "new fstab text 0123456789";
  const uint32_t fstab = must(t, "etc/fstab");
  const Node& n = t.nodes[fstab];
  CHECK(n.mode == (S_IFREG | 0640));
  CHECK(n.uid == 0);
  CHECK(n.gid == 42);
  CHECK(n.nlink == 1);
  CHECK(n.size == bytes.size());
  same_times(n, base.tree().nodes[must(base.tree(), "srv/etc/fstab")]);
  CHECK(read_all(view, fstab, 0, bytes.size()) == bytes);
  CHECK(read_all(view, fstab, 4, 6) == "fstab ");
  CHECK(read_all(view, fstab, bytes.size() - 3, 3) == "789");
  CHECK(read_all(view, fstab, bytes.size(), 0) == "");
  uint8_t buf[8];
  CHECK(view.read_file(fstab, bytes.size() - 2, buf, 3) == Status::io_error);
  CHECK(view.read_file(fstab, bytes.size() + 1, buf, 0) == Status::io_error);
  // A new file: the view root's owners and times, mode 0644.
  const uint32_t conf = must(t, "etc/new.conf");
  CHECK(t.nodes[conf].mode == (S_IFREG | 0644));
  CHECK(t.nodes[conf].uid == 10);
  CHECK(t.nodes[conf].gid == 20);
  CHECK(t.nodes[conf].size == 4);
  same_times(t.nodes[conf], t.nodes[0]);
  CHECK(read_all(view, conf, 0, 4) == "conf");
  CHECK(names(t, must(t, "etc")) == Lines{"fstab", "new.conf"});
}

TEST_CASE("SourceView: an alias reads its target's bytes and is a file of its own", "[view]") {
  const MemSource base = backup(false);
  const SourceView view(base, srv_spec());
  const Tree& t = view.tree();
  const uint32_t alias = must(t, "EFI/BOOT/BOOTX64.EFI");
  const uint32_t loader = must(t, "loader.efi");
  CHECK(alias != loader);
  CHECK(t.nodes[alias].nlink == 1);
  CHECK(t.nodes[loader].nlink == 1);
  CHECK(t.nodes[alias].mode == (S_IFREG | 0755));
  CHECK(t.nodes[alias].size == 9);
  same_times(t.nodes[alias], t.nodes[loader]);
  CHECK(xattrs(t, alias) == Xattrs{{"user.sig", "s"}});
  CHECK(read_all(view, alias, 0, 9) == "MZ loader");
  CHECK(read_all(view, alias, 3, 6) == "loader");
}

TEST_CASE("SourceView: hard links within the view share a node, others count only the view's names", "[view]") {
  const MemSource base = backup(false);
  const Tree& bt = base.tree();
  CHECK(bt.nodes[must(bt, "srv/a")].nlink == 3);
  CHECK(bt.nodes[must(bt, "srv/c")].nlink == 2);
  const SourceView view(base, srv_spec());
  const Tree& t = view.tree();
  const uint32_t a = must(t, "a");
  CHECK(t.lookup("b") == a);
  CHECK(t.nodes[a].nlink == 2);  // its third name lies under the cut directory
  CHECK(read_all(view, a, 0, 6) == "linked");
  const uint32_t c = must(t, "c");
  CHECK(t.nodes[c].nlink == 1);  // its other name is outside the view
  CHECK(read_all(view, c, 0, 7) == "outside");
}

TEST_CASE("SourceView: xattrs and sparse segments are carried", "[view]") {
  const MemSource base = backup(false);
  const SourceView view(base, srv_spec());
  const Tree& t = view.tree();
  const uint32_t x = must(t, "x");
  CHECK(xattrs(t, x) == Xattrs{{"user.a", "1"}, {"security.selinux", std::string("system_u:object_r:x\0", 20)}});
  CHECK(xattrs(t, must(t, "a")).empty());
  const uint32_t sparse = must(t, "sparse");
  CHECK((t.nodes[sparse].flags & Node::kSparse) != 0);
  CHECK(t.nodes[sparse].size == 10000);
  std::vector<DataSegment> segs;
  t.data_segments(sparse, segs);
  REQUIRE(segs.size() == 2);
  CHECK(segs[0].offset == 0);
  CHECK(segs[0].length == 4);
  CHECK(segs[1].offset == 8192);
  CHECK(segs[1].length == 4);
  CHECK(read_all(view, sparse, 0, 4) == "ABCD");
  CHECK(read_all(view, sparse, 8192, 4) == "WXYZ");
}

TEST_CASE("SourceView: a missing root is an Error, or an empty root with missing_root_empty", "[view]") {
  const MemSource base = backup(false);
  ViewSpec spec;
  spec.root = "nothere";
  CHECK_THROWS_WITH(SourceView(base, spec), "memory: nothere is not a directory");
  spec.root = "top";
  CHECK_THROWS_WITH(SourceView(base, spec), "memory: top is not a directory");
  spec.root = "nothere";
  spec.missing_root_empty = true;
  const SourceView view(base, spec);
  const Tree& t = view.tree();
  CHECK(t.nodes.size() == 1);
  CHECK(t.dirents.empty());
  const Node& root = t.nodes[0];
  CHECK(root.mode == (S_IFDIR | 0755));
  CHECK(root.uid == 5);  // the base root's owners and times
  CHECK(root.gid == 6);
  same_times(root, base.tree().nodes[0]);
  CHECK(xattrs(t, 0).empty());
  std::vector<uint32_t> order{1, 2};
  view.data_order(order);
  CHECK(order.empty());
}

TEST_CASE("SourceView: an alias to anything but a regular file of the base is an Error", "[view]") {
  const MemSource base = backup(false);
  for (const char* target : {"link", "www", "missing"}) {
    ViewSpec spec = srv_spec();
    spec.aliases = {{"BOOT.EFI", target}};
    CHECK_THROWS_WITH(SourceView(base, spec), std::string("memory, srv: ") + target + " is not a regular file of the view");
  }
}

// The header promises "a regular file of the view": one under a cut
// directory is not in the view.
TEST_CASE("SourceView: an alias to a file under a cut directory is an Error", "[view]") {
  const MemSource base = backup(false);
  ViewSpec spec = srv_spec();
  spec.aliases = {{"BOOT.EFI", "cut/inner"}};
  CHECK_THROWS_AS(SourceView(base, spec), Error);
}

namespace {

// The view's data order as paths.
std::vector<std::string> order_paths(const SourceView& view) {
  std::vector<uint32_t> order;
  view.data_order(order);
  std::vector<std::string> out;
  for (uint32_t n : order) out.push_back(view.tree().relative_path(n));
  return out;
}

}  // namespace

TEST_CASE("SourceView: data_order maps the base's order and lists the view's own files last", "[view]") {
  const MemSource reversed = backup(true);
  // The base's generated-free files in reverse node order, mapped: etc/fstab
  // (generated here), cut/inner (cut) and top (outside) are not the view's.
  CHECK(order_paths(SourceView(reversed, srv_spec())) ==
        Lines{"www/index.html", "x", "sparse", "loader.efi", "a", "c", "EFI/BOOT/BOOTX64.EFI", "etc/fstab",
              "etc/new.conf"});
  // A base that reads best in tree order: so does the view.
  const MemSource plain = backup(false);
  CHECK(order_paths(SourceView(plain, srv_spec())).empty());
}

// An alias that comes before its target in the view's node order must not
// take the target's place in the base's order.
TEST_CASE("SourceView: data_order lists an alias last even when it precedes its target", "[view]") {
  const MemSource reversed = backup(true);
  ViewSpec spec;
  spec.root = "srv";
  spec.aliases = {{"BOOT.EFI", "www/index.html"}};
  CHECK(order_paths(SourceView(reversed, spec)) ==
        Lines{"www/index.html", "etc/fstab", "cut/inner", "x", "sparse", "loader.efi", "a", "c", "BOOT.EFI"});
}
