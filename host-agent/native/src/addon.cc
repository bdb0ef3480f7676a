// hefery_libvirt: Hefery's own libvirt binding (see docs/libvirt.md).
#include <libvirt/libvirt.h>
#include <napi.h>

#include "connection.h"
#include "errors.h"
#include "events.h"
#include "peercred.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (virInitialize() < 0) throw Napi::Error::New(env, "virInitialize failed");
  SilenceLibvirtErrors();
  StartEventLoop();

  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("Connection", Connection::Define(env));
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials, "peerCredentials"));

  unsigned long libVer = 0;
  if (virGetVersion(&libVer, nullptr, nullptr) == 0) exports.Set("libvirtVersion", Napi::Number::New(env, libVer));

  Napi::Object stats = Napi::Object::New(env);
  stats.Set("STATE", static_cast<double>(VIR_DOMAIN_STATS_STATE));
  stats.Set("CPU_TOTAL", static_cast<double>(VIR_DOMAIN_STATS_CPU_TOTAL));
  stats.Set("BALLOON", static_cast<double>(VIR_DOMAIN_STATS_BALLOON));
  stats.Set("VCPU", static_cast<double>(VIR_DOMAIN_STATS_VCPU));
  stats.Set("INTERFACE", static_cast<double>(VIR_DOMAIN_STATS_INTERFACE));
  stats.Set("BLOCK", static_cast<double>(VIR_DOMAIN_STATS_BLOCK));
  exports.Set("STATS", stats);
  return exports;
}

NODE_API_MODULE(hefery_libvirt, Init)
