// libvirt's default event loop on a dedicated thread, and a sink that carries
// domain / connection events from that thread to a JS function through a
// Napi::ThreadSafeFunction.
#pragma once
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <napi.h>

#include <mutex>
#include <string>

// Registers libvirt's default event implementation and starts the thread that
// runs it. Must run before the first virConnectOpen (keepalive needs it).
// Idempotent and thread-safe.
void StartEventLoop();

struct EventMsg {
  std::string type;  // "lifecycle" | "watchdog" | "io-error" | "close"
  std::string domain;
  std::string uuid;
  int event = 0;   // lifecycle: virDomainEventType; watchdog/io-error: action; close: reason
  int detail = 0;  // lifecycle: detail code
  std::string srcPath, devAlias, reason;  // io-error
};

// Reference-counted: one reference for the connection that owns it, one for
// each libvirt callback registration (dropped by libvirt's freecb). The JS
// function is released when the last reference goes. Node may finalize the
// thread-safe function first (environment teardown at exit); from then on
// events are dropped, and the sink is freed by whichever of the two ends last.
class EventSink {
 public:
  EventSink(Napi::Env env, Napi::Function fn);
  void Post(EventMsg* msg);  // any thread; takes ownership
  void Ref();
  void Unref();
  static void FreeCb(void* opaque) { static_cast<EventSink*>(opaque)->Unref(); }

 private:
  ~EventSink() = default;
  static void Finalize(Napi::Env env, EventSink* self, EventSink* context);
  std::mutex mu_;
  Napi::ThreadSafeFunction tsfn_;
  int refs_ = 1;
  bool alive_ = true;  // tsfn_ not yet finalized by Node
};

// libvirt callbacks; opaque is an EventSink*.
int OnLifecycle(virConnectPtr, virDomainPtr dom, int event, int detail, void* opaque);
int OnWatchdog(virConnectPtr, virDomainPtr dom, int action, void* opaque);
int OnIoErrorReason(virConnectPtr, virDomainPtr dom, const char* srcPath, const char* devAlias,
                    int action, const char* reason, void* opaque);
void OnClose(virConnectPtr, int reason, void* opaque);
