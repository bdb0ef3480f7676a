// Copies of libvirt typed parameters that outlive the libvirt call (made on a
// worker thread) and their conversion to plain JS objects (on the JS thread).
#pragma once
#include <libvirt/libvirt.h>
#include <napi.h>

#include <string>
#include <vector>

struct Param {
  enum Kind { Number, Boolean, String } kind = Number;
  std::string key;
  double num = 0;  // int/uint/llong/ullong/double; exact below 2^53
  bool flag = false;
  std::string str;
};

struct StatsRecord {
  std::string name;
  std::string uuid;
  std::vector<Param> params;
};

void AddNumber(StatsRecord& r, const std::string& key, double v);
void AddString(StatsRecord& r, const std::string& key, const std::string& v);
void CopyTypedParams(const virTypedParameter* p, int n, std::vector<Param>& out);
// Fills name/uuid from a domain handle.
void DomainIdentity(virDomainPtr dom, StatsRecord& r);

// [{ name, uuid, params: { "cpu.time": 123, ... } }, ...]
Napi::Array RecordsToJs(Napi::Env env, const std::vector<StatsRecord>& records);
