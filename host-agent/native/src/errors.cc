#include "errors.h"

#include <libvirt/virterror.h>

static void NoopErrorFunc(void*, virErrorPtr) {}

void SilenceLibvirtErrors() { virSetErrorFunc(nullptr, NoopErrorFunc); }

LvError TakeLastError(const std::string& what) {
  LvError out;
  virErrorPtr err = virGetLastError();
  if (err != nullptr) {
    out.code = err->code;
    out.domain = err->domain;
    out.message = what + ": " + (err->message != nullptr ? err->message : "unknown libvirt error");
  } else {
    out.message = what + ": failed without a libvirt error";
  }
  virResetLastError();
  return out;
}

Napi::Error ToJsError(Napi::Env env, const LvError& e) {
  Napi::Error js = Napi::Error::New(env, e.message);
  js.Value().Set("code", Napi::Number::New(env, e.code));
  js.Value().Set("domain", Napi::Number::New(env, e.domain));
  return js;
}
