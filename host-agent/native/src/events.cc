#include "events.h"

#include <mutex>
#include <thread>

#include "errors.h"

void StartEventLoop() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (virEventRegisterDefaultImpl() < 0) {
      TakeLastError("virEventRegisterDefaultImpl");
      return;
    }
    std::thread([] {
      for (;;) {
        if (virEventRunDefaultImpl() < 0) virResetLastError();
      }
    }).detach();
  });
}

static void CallJs(Napi::Env env, Napi::Function fn, EventMsg* msg) {
  if (env != nullptr && fn != nullptr) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("type", msg->type);
    o.Set("domain", msg->domain);
    o.Set("uuid", msg->uuid);
    o.Set("event", msg->event);
    o.Set("detail", msg->detail);
    if (msg->type == "io-error") {
      o.Set("srcPath", msg->srcPath);
      o.Set("devAlias", msg->devAlias);
      o.Set("reason", msg->reason);
    }
    fn.Call({o});
  }
  delete msg;
}

EventSink::EventSink(Napi::Env env, Napi::Function fn) {
  // Finalize(env, this, this) runs when Node finalizes the function.
  tsfn_ = Napi::ThreadSafeFunction::New(env, fn, "hefery-libvirt-events", 0, 1, this, &EventSink::Finalize,
                                        this);
  // Events alone must not keep the process alive; the owner closes the connection.
  tsfn_.Unref(env);
}

void EventSink::Finalize(Napi::Env, EventSink* self, EventSink*) {
  bool last;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    self->alive_ = false;
    last = self->refs_ == 0;
  }
  if (last) delete self;
}

void EventSink::Post(EventMsg* msg) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!alive_ || tsfn_.NonBlockingCall(msg, CallJs) != napi_ok) delete msg;
}

void EventSink::Ref() {
  std::lock_guard<std::mutex> lock(mu_);
  refs_++;
}

void EventSink::Unref() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (--refs_ > 0) return;
    if (alive_) {
      tsfn_.Release();  // Finalize runs later on the JS thread and frees the sink
      return;
    }
  }
  delete this;
}

static EventMsg* MsgFor(const char* type, virDomainPtr dom) {
  auto* m = new EventMsg();
  m->type = type;
  if (dom != nullptr) {
    const char* name = virDomainGetName(dom);
    if (name != nullptr) m->domain = name;
    char uuid[VIR_UUID_STRING_BUFLEN] = {0};
    if (virDomainGetUUIDString(dom, uuid) == 0) m->uuid = uuid;
  }
  return m;
}

int OnLifecycle(virConnectPtr, virDomainPtr dom, int event, int detail, void* opaque) {
  EventMsg* m = MsgFor("lifecycle", dom);
  m->event = event;
  m->detail = detail;
  static_cast<EventSink*>(opaque)->Post(m);
  return 0;
}

int OnWatchdog(virConnectPtr, virDomainPtr dom, int action, void* opaque) {
  EventMsg* m = MsgFor("watchdog", dom);
  m->event = action;
  static_cast<EventSink*>(opaque)->Post(m);
  return 0;
}

int OnIoErrorReason(virConnectPtr, virDomainPtr dom, const char* srcPath, const char* devAlias,
                    int action, const char* reason, void* opaque) {
  EventMsg* m = MsgFor("io-error", dom);
  m->event = action;
  if (srcPath != nullptr) m->srcPath = srcPath;
  if (devAlias != nullptr) m->devAlias = devAlias;
  if (reason != nullptr) m->reason = reason;
  static_cast<EventSink*>(opaque)->Post(m);
  return 0;
}

void OnClose(virConnectPtr, int reason, void* opaque) {
  EventMsg* m = MsgFor("close", nullptr);
  m->event = reason;
  static_cast<EventSink*>(opaque)->Post(m);
}
