// One libvirt connection as a JS object. Every call that talks to libvirtd
// runs in a PromiseWorker and returns a Promise.
#pragma once
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <napi.h>

#include <memory>
#include <mutex>

#include "events.h"

// Shared by the JS object and its in-flight workers.
struct ConnState {
  std::mutex mu;
  virConnectPtr conn = nullptr;  // the object's own reference; null once closed
  EventSink* sink = nullptr;     // owner reference, set by listen()
  int lifecycleId = -1, watchdogId = -1, ioErrorId = -1;
  bool closeCbRegistered = false;
};

// Deregisters callbacks and drops the state's connection reference.
// Blocking (RPC to libvirtd): call off the JS thread.
void TearDown(virConnectPtr conn, EventSink* sink, int ids[3], bool closeCb);

class Connection : public Napi::ObjectWrap<Connection> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Connection(const Napi::CallbackInfo& info);
  ~Connection() override;

 private:
  // Returns a new reference for a worker, or throws when closed.
  virConnectPtr Acquire(Napi::Env env);

  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value IsAlive(const Napi::CallbackInfo& info);
  Napi::Value GetAllDomainStats(const Napi::CallbackInfo& info);
  Napi::Value GetDomainStatsLegacy(const Napi::CallbackInfo& info);
  Napi::Value ListDomains(const Napi::CallbackInfo& info);
  Napi::Value QemuMonitorCommand(const Napi::CallbackInfo& info);
  Napi::Value Listen(const Napi::CallbackInfo& info);

  std::shared_ptr<ConnState> state_;
};

// open(uri, readOnly) -> Promise<Connection>
Napi::Value Open(const Napi::CallbackInfo& info);
