#pragma once
// ext4 linear directory entries (Documentation/filesystems/ext4/
// directory.rst, with the filetype feature): an 8-byte header, the name
// (not NUL-terminated), padding to 4 bytes; rec_len of a block's last entry
// reaches the end of the block.
#include <cstddef>
#include <cstdint>

#include "core/image/on_disk.h"

namespace vdiskfs::ext4 {

// Directory entry file types (ext4_dir_entry_2.file_type).
enum class DirFileType : uint8_t {
  unknown = 0, regular = 1, directory = 2, char_device = 3, block_device = 4, fifo = 5,
  socket = 6, symlink = 7,
};

// struct ext4_dir_entry_2 without its name: name_len bytes of name follow
// the header.
struct DirEntry2 {
  le32 inode;         // 0x00 inode number; 0: unused entry
  le16 rec_len;       // 0x04 bytes to the next entry
  uint8_t name_len;   // 0x06 bytes of the name
  uint8_t file_type;  // 0x07 DirFileType
};
static_assert(sizeof(DirEntry2) == 0x8);
static_assert(offsetof(DirEntry2, inode) == 0x00);
static_assert(offsetof(DirEntry2, rec_len) == 0x04);
static_assert(offsetof(DirEntry2, name_len) == 0x06);
static_assert(offsetof(DirEntry2, file_type) == 0x07);

// Bytes a directory entry with a name of `name_len` takes (header, name,
// padded to 4).
inline constexpr uint32_t dirent_size(uint32_t name_len) {
  return (uint32_t(sizeof(DirEntry2)) + name_len + 3) & ~3u;
}

}  // namespace vdiskfs::ext4
