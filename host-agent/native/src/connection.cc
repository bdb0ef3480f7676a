#include "connection.h"

#include <libvirt/libvirt-qemu.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "errors.h"
#include "legacy_stats.h"
#include "params.h"
#include "worker.h"

struct AddonData {
  Napi::FunctionReference connectionCtor;
};

void TearDown(virConnectPtr conn, EventSink* sink, int ids[3], bool closeCb) {
  if (conn != nullptr) {
    for (int i = 0; i < 3; i++) {
      if (ids[i] >= 0 && virConnectDomainEventDeregisterAny(conn, ids[i]) < 0) virResetLastError();
    }
    if (closeCb && virConnectUnregisterCloseCallback(conn, OnClose) < 0) virResetLastError();
    if (virConnectClose(conn) < 0) virResetLastError();
  }
  if (sink != nullptr) sink->Unref();
}

// ---- workers ---------------------------------------------------------------

class OpenWorker : public PromiseWorker {
 public:
  OpenWorker(Napi::Env env, std::string uri, bool readOnly)
      : PromiseWorker(env, nullptr), uri_(std::move(uri)), readOnly_(readOnly) {}
  ~OpenWorker() override {
    if (opened_ != nullptr) virConnectClose(opened_);  // only when never handed over
  }

 protected:
  void Run() override {
    opened_ = readOnly_ ? virConnectOpenReadOnly(uri_.c_str()) : virConnectOpen(uri_.c_str());
    if (opened_ == nullptr) {
      FailWithLastError("cannot open libvirt connection '" + uri_ + "'");
      return;
    }
    // A dead libvirtd is then noticed within ~15 s and reported by the close callback.
    if (virConnectSetKeepAlive(opened_, 5, 3) < 0) virResetLastError();
  }
  Napi::Value Result(Napi::Env env) override {
    AddonData* data = env.GetInstanceData<AddonData>();
    Napi::Object obj = data->connectionCtor.New({Napi::External<virConnect>::New(env, opened_)});
    opened_ = nullptr;  // owned by the Connection now
    return obj;
  }

 private:
  std::string uri_;
  bool readOnly_;
  virConnectPtr opened_ = nullptr;
};

class CloseWorker : public PromiseWorker {
 public:
  CloseWorker(Napi::Env env, virConnectPtr conn, EventSink* sink, int ids[3], bool closeCb)
      : PromiseWorker(env, nullptr), conn_(conn), sink_(sink), closeCb_(closeCb) {
    for (int i = 0; i < 3; i++) ids_[i] = ids[i];
  }

 protected:
  void Run() override { TearDown(conn_, sink_, ids_, closeCb_); }

 private:
  virConnectPtr conn_;
  EventSink* sink_;
  int ids_[3];
  bool closeCb_;
};

class AllStatsWorker : public PromiseWorker {
 public:
  AllStatsWorker(Napi::Env env, virConnectPtr conn, unsigned int stats, unsigned int flags)
      : PromiseWorker(env, conn), stats_(stats), flags_(flags) {}

 protected:
  void Run() override {
    virDomainStatsRecordPtr* recs = nullptr;
    int n = virConnectGetAllDomainStats(conn(), stats_, &recs, flags_);
    if (n < 0) {
      FailWithLastError("virConnectGetAllDomainStats");
      return;
    }
    out_.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; i++) {
      StatsRecord r;
      DomainIdentity(recs[i]->dom, r);
      CopyTypedParams(recs[i]->params, recs[i]->nparams, r.params);
      out_.push_back(std::move(r));
    }
    virDomainStatsRecordListFree(recs);
  }
  Napi::Value Result(Napi::Env env) override { return RecordsToJs(env, out_); }

 private:
  unsigned int stats_, flags_;
  std::vector<StatsRecord> out_;
};

class LegacyStatsWorker : public PromiseWorker {
 public:
  LegacyStatsWorker(Napi::Env env, virConnectPtr conn) : PromiseWorker(env, conn) {}

 protected:
  void Run() override {
    LvError err;
    if (!CollectLegacyStats(conn(), out_, err)) Fail(err);
  }
  Napi::Value Result(Napi::Env env) override { return RecordsToJs(env, out_); }

 private:
  std::vector<StatsRecord> out_;
};

struct DomainBrief {
  std::string name, uuid;
  int id = -1;
  bool active = false;
  int state = 0, reason = 0;
};

class ListDomainsWorker : public PromiseWorker {
 public:
  ListDomainsWorker(Napi::Env env, virConnectPtr conn) : PromiseWorker(env, conn) {}

 protected:
  void Run() override {
    virDomainPtr* doms = nullptr;
    int n = virConnectListAllDomains(conn(), &doms, 0);
    if (n < 0) {
      FailWithLastError("virConnectListAllDomains");
      return;
    }
    for (int i = 0; i < n; i++) {
      DomainBrief b;
      const char* name = virDomainGetName(doms[i]);
      b.name = name != nullptr ? name : "";
      char uuid[VIR_UUID_STRING_BUFLEN] = {0};
      if (virDomainGetUUIDString(doms[i], uuid) == 0) b.uuid = uuid;
      unsigned int id = virDomainGetID(doms[i]);
      b.id = id == static_cast<unsigned int>(-1) ? -1 : static_cast<int>(id);
      b.active = virDomainIsActive(doms[i]) == 1;
      if (virDomainGetState(doms[i], &b.state, &b.reason, 0) < 0) virResetLastError();
      out_.push_back(std::move(b));
      virDomainFree(doms[i]);
    }
    free(doms);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env, out_.size());
    for (size_t i = 0; i < out_.size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", out_[i].name);
      o.Set("uuid", out_[i].uuid);
      o.Set("id", out_[i].id);
      o.Set("active", out_[i].active);
      o.Set("state", out_[i].state);
      o.Set("reason", out_[i].reason);
      arr.Set(static_cast<uint32_t>(i), o);
    }
    return arr;
  }

 private:
  std::vector<DomainBrief> out_;
};

class QemuMonitorWorker : public PromiseWorker {
 public:
  QemuMonitorWorker(Napi::Env env, virConnectPtr conn, std::string domain, std::string cmd)
      : PromiseWorker(env, conn), domain_(std::move(domain)), cmd_(std::move(cmd)) {}

 protected:
  void Run() override {
    virDomainPtr dom = virDomainLookupByName(conn(), domain_.c_str());
    if (dom == nullptr) {
      FailWithLastError("domain '" + domain_ + "'");
      return;
    }
    char* result = nullptr;
    if (virDomainQemuMonitorCommand(dom, cmd_.c_str(), &result, 0) < 0) {
      FailWithLastError("QEMU monitor command on '" + domain_ + "'");
    } else {
      reply_ = result != nullptr ? result : "";
      free(result);
    }
    virDomainFree(dom);
  }
  Napi::Value Result(Napi::Env env) override { return Napi::String::New(env, reply_); }

 private:
  std::string domain_, cmd_, reply_;
};

class ListenWorker : public PromiseWorker {
 public:
  ListenWorker(Napi::Env env, virConnectPtr conn, std::shared_ptr<ConnState> state, EventSink* sink)
      : PromiseWorker(env, conn), state_(std::move(state)), sink_(sink) {}

 protected:
  void Run() override {
    int ids[3] = {-1, -1, -1};
    const int events[3] = {VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_ID_WATCHDOG,
                           VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON};
    virConnectDomainEventGenericCallback cbs[3] = {VIR_DOMAIN_EVENT_CALLBACK(OnLifecycle),
                                                    VIR_DOMAIN_EVENT_CALLBACK(OnWatchdog),
                                                    VIR_DOMAIN_EVENT_CALLBACK(OnIoErrorReason)};
    for (int i = 0; i < 3; i++) {
      sink_->Ref();
      ids[i] = virConnectDomainEventRegisterAny(conn(), nullptr, events[i], cbs[i], sink_, EventSink::FreeCb);
      if (ids[i] < 0) {
        sink_->Unref();
        if (i == 0) {  // lifecycle events are required; the other two are optional per driver
          FailWithLastError("virConnectDomainEventRegisterAny(lifecycle)");
          return;
        }
        virResetLastError();
      }
    }
    sink_->Ref();
    bool closeCb = virConnectRegisterCloseCallback(conn(), OnClose, sink_, EventSink::FreeCb) == 0;
    if (!closeCb) {
      sink_->Unref();
      virResetLastError();
    }
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->conn == nullptr) {  // closed meanwhile: undo here
      for (int i = 0; i < 3; i++)
        if (ids[i] >= 0) virConnectDomainEventDeregisterAny(conn(), ids[i]);
      if (closeCb) virConnectUnregisterCloseCallback(conn(), OnClose);
      virResetLastError();
      return;
    }
    state_->lifecycleId = ids[0];
    state_->watchdogId = ids[1];
    state_->ioErrorId = ids[2];
    state_->closeCbRegistered = closeCb;
  }

 private:
  std::shared_ptr<ConnState> state_;
  EventSink* sink_;
};

// ---- Connection ------------------------------------------------------------

Napi::Function Connection::Define(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "Connection",
                                  {
                                      InstanceMethod("close", &Connection::Close),
                                      InstanceMethod("isAlive", &Connection::IsAlive),
                                      InstanceMethod("getAllDomainStats", &Connection::GetAllDomainStats),
                                      InstanceMethod("getDomainStatsLegacy", &Connection::GetDomainStatsLegacy),
                                      InstanceMethod("listDomains", &Connection::ListDomains),
                                      InstanceMethod("qemuMonitorCommand", &Connection::QemuMonitorCommand),
                                      InstanceMethod("listen", &Connection::Listen),
                                  });
  auto* data = new AddonData();
  data->connectionCtor = Napi::Persistent(fn);
  env.SetInstanceData<AddonData>(data);
  return fn;
}

Connection::Connection(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Connection>(info), state_(std::make_shared<ConnState>()) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "Connection cannot be constructed directly; use open(uri)");
  }
  state_->conn = info[0].As<Napi::External<virConnect>>().Data();
}

// What close() or the destructor takes out of the shared state, under its lock;
// afterwards the object counts as closed.
struct Detached {
  virConnectPtr conn;
  EventSink* sink;
  int ids[3];
  bool closeCb;
};

static Detached Detach(ConnState& st) {
  std::lock_guard<std::mutex> lock(st.mu);
  Detached d{st.conn, st.sink, {st.lifecycleId, st.watchdogId, st.ioErrorId}, st.closeCbRegistered};
  st.conn = nullptr;
  st.sink = nullptr;
  return d;
}

Connection::~Connection() {
  // Garbage-collected without close(): tear down on a short-lived thread, the
  // JS thread must not block on libvirtd.
  Detached d = Detach(*state_);
  if (d.conn == nullptr && d.sink == nullptr) return;
  std::thread([d]() mutable { TearDown(d.conn, d.sink, d.ids, d.closeCb); }).detach();
}

virConnectPtr Connection::Acquire(Napi::Env env) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->conn == nullptr) throw Napi::Error::New(env, "libvirt connection is closed");
  virConnectRef(state_->conn);
  return state_->conn;
}

template <typename W, typename... Args>
static Napi::Value Queue(Napi::Env env, Args&&... args) {
  auto* w = new W(env, std::forward<Args>(args)...);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value Connection::Close(const Napi::CallbackInfo& info) {
  Detached d = Detach(*state_);
  return Queue<CloseWorker>(info.Env(), d.conn, d.sink, d.ids, d.closeCb);  // closing twice is a no-op
}

Napi::Value Connection::IsAlive(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->conn == nullptr) return Napi::Boolean::New(info.Env(), false);
  int alive = virConnectIsAlive(state_->conn);
  if (alive < 0) virResetLastError();
  return Napi::Boolean::New(info.Env(), alive == 1);
}

static unsigned int UintArg(const Napi::CallbackInfo& info, size_t i, const char* name, unsigned int dflt) {
  if (info.Length() <= i || info[i].IsUndefined()) return dflt;
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (v < 0 || v > 4294967295.0 || v != static_cast<double>(static_cast<unsigned int>(v)))
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an unsigned 32-bit integer");
  return static_cast<unsigned int>(v);
}

static std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

Napi::Value Connection::GetAllDomainStats(const Napi::CallbackInfo& info) {
  unsigned int stats = UintArg(info, 0, "stats", 0);
  unsigned int flags = UintArg(info, 1, "flags", 0);
  return Queue<AllStatsWorker>(info.Env(), Acquire(info.Env()), stats, flags);
}

Napi::Value Connection::GetDomainStatsLegacy(const Napi::CallbackInfo& info) {
  return Queue<LegacyStatsWorker>(info.Env(), Acquire(info.Env()));
}

Napi::Value Connection::ListDomains(const Napi::CallbackInfo& info) {
  return Queue<ListDomainsWorker>(info.Env(), Acquire(info.Env()));
}

Napi::Value Connection::QemuMonitorCommand(const Napi::CallbackInfo& info) {
  std::string domain = StringArg(info, 0, "domain");
  std::string cmd = StringArg(info, 1, "command");
  return Queue<QemuMonitorWorker>(info.Env(), Acquire(info.Env()), domain, cmd);
}

Napi::Value Connection::Listen(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction())
    throw Napi::TypeError::New(info.Env(), "listen(listener): listener must be a function");
  virConnectPtr conn = Acquire(info.Env());
  EventSink* sink;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->sink != nullptr) {
      virConnectClose(conn);  // drop the reference Acquire took; never the last one
      throw Napi::Error::New(info.Env(), "listen() was already called on this connection");
    }
    sink = new EventSink(info.Env(), info[0].As<Napi::Function>());
    state_->sink = sink;  // the state owns the sink's first reference
  }
  return Queue<ListenWorker>(info.Env(), conn, state_, sink);
}

Napi::Value Open(const Napi::CallbackInfo& info) {
  std::string uri = StringArg(info, 0, "uri");
  bool readOnly = info.Length() > 1 && info[1].ToBoolean().Value();
  return Queue<OpenWorker>(info.Env(), uri, readOnly);
}
