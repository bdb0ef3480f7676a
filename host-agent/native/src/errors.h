// libvirt errors -> JS Error objects with `code` and `domain` (libvirt's numbers).
#pragma once
#include <napi.h>
#include <string>

struct LvError {
  std::string message;
  int code = 0;    // virErrorNumber, 0 when not from libvirt
  int domain = 0;  // virErrorDomain
};

// Takes (and resets) the calling thread's last libvirt error. `what` names the
// failed call; it prefixes the message so a user sees which step failed.
LvError TakeLastError(const std::string& what);

// Installs a no-op error handler so libvirt never prints to stderr.
void SilenceLibvirtErrors();

Napi::Error ToJsError(Napi::Env env, const LvError& e);
