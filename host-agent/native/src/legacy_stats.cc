#include "legacy_stats.h"

#include <cstdlib>
#include <string>

// Target device names of every <TAG ...> ... </TAG> element of a domain XML
// (e.g. "vnet0" for interfaces, "vda" for disks), in document order.
static std::vector<std::string> TargetDevs(const std::string& xml, const std::string& tag) {
  std::vector<std::string> devs;
  const std::string open = "<" + tag;
  const std::string close = "</" + tag + ">";
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string::npos) {
    size_t after = pos + open.size();
    if (after < xml.size() && xml[after] != ' ' && xml[after] != '>' && xml[after] != '\n') {
      pos = after;  // e.g. <interfaces>
      continue;
    }
    size_t end = xml.find(close, after);
    if (end == std::string::npos) break;
    size_t t = xml.find("<target", after);
    if (t != std::string::npos && t < end) {
      size_t d = xml.find("dev=", t);
      size_t tend = xml.find('>', t);
      if (d != std::string::npos && d < tend && d + 5 < xml.size()) {
        char q = xml[d + 4];
        size_t vend = xml.find(q, d + 5);
        if ((q == '\'' || q == '"') && vend != std::string::npos) devs.push_back(xml.substr(d + 5, vend - d - 5));
      }
    }
    pos = end + close.size();
  }
  return devs;
}

static void MemoryStats(virDomainPtr dom, StatsRecord& r) {
  virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];
  int n = virDomainMemoryStats(dom, st, VIR_DOMAIN_MEMORY_STAT_NR, 0);
  if (n < 0) {
    virResetLastError();
    return;
  }
  for (int i = 0; i < n; i++) {
    const char* key = nullptr;
    switch (st[i].tag) {
      case VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON: key = "balloon.current"; break;
      case VIR_DOMAIN_MEMORY_STAT_UNUSED: key = "balloon.unused"; break;
      case VIR_DOMAIN_MEMORY_STAT_AVAILABLE: key = "balloon.available"; break;
      case VIR_DOMAIN_MEMORY_STAT_USABLE: key = "balloon.usable"; break;
      case VIR_DOMAIN_MEMORY_STAT_RSS: key = "balloon.rss"; break;
      case VIR_DOMAIN_MEMORY_STAT_SWAP_IN: key = "balloon.swap_in"; break;
      case VIR_DOMAIN_MEMORY_STAT_SWAP_OUT: key = "balloon.swap_out"; break;
      default: break;
    }
    if (key == nullptr) continue;
    bool replaced = false;
    for (Param& p : r.params) {
      if (p.key == key) {
        p.num = static_cast<double>(st[i].val);
        replaced = true;
      }
    }
    if (!replaced) AddNumber(r, key, static_cast<double>(st[i].val));
  }
}

static void DeviceStats(virDomainPtr dom, StatsRecord& r) {
  char* raw = virDomainGetXMLDesc(dom, 0);
  if (raw == nullptr) {
    virResetLastError();
    return;
  }
  std::string xml(raw);
  free(raw);

  std::vector<std::string> nics = TargetDevs(xml, "interface");
  AddNumber(r, "net.count", static_cast<double>(nics.size()));
  for (size_t i = 0; i < nics.size(); i++) {
    const std::string p = "net." + std::to_string(i) + ".";
    AddString(r, p + "name", nics[i]);
    virDomainInterfaceStatsStruct s;
    if (virDomainInterfaceStats(dom, nics[i].c_str(), &s, sizeof s) < 0) {
      virResetLastError();
      continue;
    }
    AddNumber(r, p + "rx.bytes", static_cast<double>(s.rx_bytes));
    AddNumber(r, p + "rx.pkts", static_cast<double>(s.rx_packets));
    AddNumber(r, p + "rx.errs", static_cast<double>(s.rx_errs));
    AddNumber(r, p + "rx.drop", static_cast<double>(s.rx_drop));
    AddNumber(r, p + "tx.bytes", static_cast<double>(s.tx_bytes));
    AddNumber(r, p + "tx.pkts", static_cast<double>(s.tx_packets));
    AddNumber(r, p + "tx.errs", static_cast<double>(s.tx_errs));
    AddNumber(r, p + "tx.drop", static_cast<double>(s.tx_drop));
  }

  std::vector<std::string> disks = TargetDevs(xml, "disk");
  AddNumber(r, "block.count", static_cast<double>(disks.size()));
  for (size_t i = 0; i < disks.size(); i++) {
    const std::string p = "block." + std::to_string(i) + ".";
    AddString(r, p + "name", disks[i]);
    virDomainBlockStatsStruct s;
    if (virDomainBlockStats(dom, disks[i].c_str(), &s, sizeof s) < 0) {
      virResetLastError();
      continue;
    }
    // -1 means "not supported by this driver": leave such a field out.
    if (s.rd_bytes >= 0) AddNumber(r, p + "rd.bytes", static_cast<double>(s.rd_bytes));
    if (s.rd_req >= 0) AddNumber(r, p + "rd.reqs", static_cast<double>(s.rd_req));
    if (s.wr_bytes >= 0) AddNumber(r, p + "wr.bytes", static_cast<double>(s.wr_bytes));
    if (s.wr_req >= 0) AddNumber(r, p + "wr.reqs", static_cast<double>(s.wr_req));
    if (s.errs >= 0) AddNumber(r, p + "errs", static_cast<double>(s.errs));
  }
}

bool CollectLegacyStats(virConnectPtr conn, std::vector<StatsRecord>& out, LvError& err) {
  virDomainPtr* doms = nullptr;
  int n = virConnectListAllDomains(conn, &doms, 0);
  if (n < 0) {
    err = TakeLastError("virConnectListAllDomains");
    return false;
  }
  for (int i = 0; i < n; i++) {
    virDomainPtr dom = doms[i];
    virDomainInfo info;
    if (virDomainGetInfo(dom, &info) < 0) {
      virResetLastError();  // vanished between list and query
      virDomainFree(dom);
      continue;
    }
    StatsRecord r;
    DomainIdentity(dom, r);
    AddNumber(r, "state.state", info.state);
    AddNumber(r, "cpu.time", static_cast<double>(info.cpuTime));
    AddNumber(r, "vcpu.current", info.nrVirtCpu);
    AddNumber(r, "vcpu.maximum", info.nrVirtCpu);
    AddNumber(r, "balloon.current", static_cast<double>(info.memory));
    AddNumber(r, "balloon.maximum", static_cast<double>(info.maxMem));
    if (virDomainIsActive(dom) == 1) {
      MemoryStats(dom, r);
      DeviceStats(dom, r);
    } else {
      virResetLastError();
    }
    out.push_back(std::move(r));
    virDomainFree(dom);
  }
  free(doms);
  return true;
}
