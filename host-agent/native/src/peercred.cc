#include "peercred.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "peerCredentials(fd): fd must be a number");
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (d < 0 || d > 2147483647.0 || d != static_cast<double>(static_cast<int>(d)))
    throw Napi::RangeError::New(env, "peerCredentials(fd): fd must be a non-negative integer");
  int fd = static_cast<int>(d);

  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
    throw Napi::Error::New(env, std::string("SO_PEERCRED on fd ") + std::to_string(fd) + ": " + std::strerror(errno));

  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", static_cast<double>(cred.pid));
  out.Set("uid", static_cast<double>(cred.uid));
  out.Set("gid", static_cast<double>(cred.gid));

  // Supplementary groups as they were when the peer connected; grow the buffer on ERANGE.
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 4; attempt++) {
    socklen_t glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen) == 0) {
      size_t n = glen / sizeof(gid_t);
      Napi::Array arr = Napi::Array::New(env, n);
      for (size_t i = 0; i < n; i++) arr.Set(static_cast<uint32_t>(i), static_cast<double>(groups[i]));
      out.Set("groups", arr);
      return out;
    }
    if (errno != ERANGE) break;
    groups.resize(glen / sizeof(gid_t) + 16);
  }
  out.Set("groups", env.Null());
  return out;
}
