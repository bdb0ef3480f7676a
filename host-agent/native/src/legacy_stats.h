// Per-domain statistics for drivers without virConnectGetAllDomainStats
// (older Xen/libxl): virDomainGetInfo, virDomainMemoryStats,
// virDomainInterfaceStats and virDomainBlockStats, reported under the same
// typed-parameter names as the bulk call (state.state, cpu.time, balloon.*,
// net.N.*, block.N.*) so one mapping serves both.
#pragma once
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <vector>

#include "errors.h"
#include "params.h"

bool CollectLegacyStats(virConnectPtr conn, std::vector<StatsRecord>& out, LvError& err);
