// Credentials of the process at the other end of a connected Unix socket
// (SO_PEERCRED, SO_PEERGROUPS), for the agent's own access check on top of
// the socket file's mode and group. Node cannot read them itself.
#pragma once
#include <napi.h>

// peerCredentials(fd) -> { pid, uid, gid, groups: number[] | null }
// groups is null when the kernel has no SO_PEERGROUPS (before Linux 4.13).
// Throws with errno's text when fd is not a connected Unix socket.
Napi::Value PeerCredentials(const Napi::CallbackInfo& info);
