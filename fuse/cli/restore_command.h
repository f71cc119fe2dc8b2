#pragma once
// `vdiskfs restore start|status|stop|finish`: requests to the running mount
// through an exposed file's control attribute (user.vdiskfs.restore); the
// copy itself runs inside the mount's daemon.
#include <string>
#include <vector>

namespace vdiskfs {

struct RestoreArgs {
  std::string file;        // MOUNTPOINT/NAME.img
  std::string target;      // a raw file, a block device, a .qcow2 file or nbd://HOST:PORT/EXPORT
  double rate_mib = 0;     // MiB/s; 0: yield to the guest's reads only
  bool restart = false;    // drop a recorded restore and begin again
  bool wait = false;       // wait until verified (or failed), showing progress
  bool json = false;
  bool quiet = false;
  bool force = false;      // finish: even while the file is open
};

// Each returns the exit status (0 done, 1 refused or failed); they throw
// Error with the daemon's reason when a request is refused.
int restore_start_command(const RestoreArgs& args);
// Status of the restores of `files`, or of every exposed file of every
// vdiskfs mount when empty.
int restore_status_command(const std::vector<std::string>& files, bool json);
// Waits until the restore of args.file is verified (0) or failed or
// stopped (1), with progress as restore start --wait shows it.
int restore_wait_command(const RestoreArgs& args);
int restore_stop_command(const RestoreArgs& args);
int restore_finish_command(const RestoreArgs& args);

}  // namespace vdiskfs
