#include "params.h"

void AddNumber(StatsRecord& r, const std::string& key, double v) {
  Param p;
  p.kind = Param::Number;
  p.key = key;
  p.num = v;
  r.params.push_back(std::move(p));
}

void AddString(StatsRecord& r, const std::string& key, const std::string& v) {
  Param p;
  p.kind = Param::String;
  p.key = key;
  p.str = v;
  r.params.push_back(std::move(p));
}

void CopyTypedParams(const virTypedParameter* tp, int n, std::vector<Param>& out) {
  out.reserve(out.size() + static_cast<size_t>(n));
  for (int i = 0; i < n; i++) {
    const virTypedParameter& s = tp[i];
    Param p;
    p.key = s.field;
    switch (s.type) {
      case VIR_TYPED_PARAM_INT: p.num = s.value.i; break;
      case VIR_TYPED_PARAM_UINT: p.num = s.value.ui; break;
      case VIR_TYPED_PARAM_LLONG: p.num = static_cast<double>(s.value.l); break;
      case VIR_TYPED_PARAM_ULLONG: p.num = static_cast<double>(s.value.ul); break;
      case VIR_TYPED_PARAM_DOUBLE: p.num = s.value.d; break;
      case VIR_TYPED_PARAM_BOOLEAN:
        p.kind = Param::Boolean;
        p.flag = s.value.b != 0;
        break;
      case VIR_TYPED_PARAM_STRING:
        p.kind = Param::String;
        p.str = s.value.s != nullptr ? s.value.s : "";
        break;
      default: continue;  // a type newer than this addon: skip it
    }
    out.push_back(std::move(p));
  }
}

void DomainIdentity(virDomainPtr dom, StatsRecord& r) {
  const char* name = virDomainGetName(dom);
  r.name = name != nullptr ? name : "";
  char uuid[VIR_UUID_STRING_BUFLEN] = {0};
  if (virDomainGetUUIDString(dom, uuid) == 0) r.uuid = uuid;
}

Napi::Array RecordsToJs(Napi::Env env, const std::vector<StatsRecord>& records) {
  Napi::Array arr = Napi::Array::New(env, records.size());
  for (size_t i = 0; i < records.size(); i++) {
    const StatsRecord& r = records[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", r.name);
    o.Set("uuid", r.uuid);
    Napi::Object params = Napi::Object::New(env);
    for (const Param& p : r.params) {
      switch (p.kind) {
        case Param::Number: params.Set(p.key, Napi::Number::New(env, p.num)); break;
        case Param::Boolean: params.Set(p.key, Napi::Boolean::New(env, p.flag)); break;
        case Param::String: params.Set(p.key, Napi::String::New(env, p.str)); break;
      }
    }
    o.Set("params", params);
    arr.Set(static_cast<uint32_t>(i), o);
  }
  return arr;
}
