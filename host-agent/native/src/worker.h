// Promise-returning Napi::AsyncWorker base: the libvirt call runs on libuv's
// thread pool, the JS thread only converts results.
#pragma once
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <napi.h>

#include "errors.h"

class PromiseWorker : public Napi::AsyncWorker {
 public:
  // `conn` is an extra reference (virConnectRef) owned by this worker, or null.
  PromiseWorker(Napi::Env env, virConnectPtr conn)
      : Napi::AsyncWorker(env, "hefery-libvirt"), deferred_(Napi::Promise::Deferred::New(env)), conn_(conn) {}
  ~PromiseWorker() override {
    if (conn_ != nullptr) virConnectClose(conn_);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }
  void Fail(const LvError& e) {
    failed_ = true;
    err_ = e;
  }
  void FailWithLastError(const std::string& what) { Fail(TakeLastError(what)); }
  virConnectPtr conn() const { return conn_; }

 private:
  void Execute() final {
    Run();
    if (conn_ != nullptr) {  // drop our reference here, off the JS thread
      virConnectClose(conn_);
      conn_ = nullptr;
    }
    if (failed_) SetError(err_.message);
  }
  void OnOK() final { deferred_.Resolve(Result(Env())); }
  void OnError(const Napi::Error&) final { deferred_.Reject(ToJsError(Env(), err_).Value()); }

  Napi::Promise::Deferred deferred_;
  virConnectPtr conn_;
  bool failed_ = false;
  LvError err_;
};
