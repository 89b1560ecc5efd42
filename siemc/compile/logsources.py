"""Which Windows event-log records a Sigma log source covers, for evaluating rules on raw records.

A Sigma rule names its data by log source (`category: process_creation`, `service: security`); a
record carries a Channel and an EventID. Sysmon categories are Sysmon event ids; Windows services
are channels; PowerShell categories are event ids of the PowerShell channels. Records are the
flattened mappings of siemc.verify.events (fields `Channel`, `EventID`, `Provider_Name`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sigma.pipelines.common import windows_logsource_mapping
from sigma.rule import SigmaLogSource

SYSMON = "Microsoft-Windows-Sysmon/Operational"
SECURITY = "Security"
POWERSHELL = "Microsoft-Windows-PowerShell/Operational"
POWERSHELL_CLASSIC = "Windows PowerShell"


@dataclass(frozen=True)
class RecordSource:
    """Records of one channel, optionally only some event ids (empty: every id)."""

    channel: str
    event_ids: tuple[int, ...] = ()

    def covers(self, channel: str, event_id: int | None) -> bool:
        return channel == self.channel.lower() and (not self.event_ids or event_id in self.event_ids)


def _sysmon(*event_ids: int) -> tuple[RecordSource, ...]:
    return (RecordSource(SYSMON, event_ids),)


# Sigma `category` (product windows) -> the records it stands for: the Sysmon event ids of SigmaHQ's
# taxonomy (sigma-specification, appendix "Windows Folder"). `file_access` and `file_rename` are
# not here: the taxonomy gives them the Microsoft-Windows-Kernel-File ETW provider, which no event-log
# channel carries; each target maps them to its own EDR events (backends/mappings/<target>.yml).
CATEGORY_SOURCES: Mapping[str, tuple[RecordSource, ...]] = {
    "process_creation": (RecordSource(SYSMON, (1,)), RecordSource(SECURITY, (4688,))),
    "file_change": _sysmon(2),  # a process changed a file's creation time
    "network_connection": _sysmon(3),
    "sysmon_status": _sysmon(4, 16),
    "process_termination": _sysmon(5),
    "driver_load": _sysmon(6),
    "image_load": _sysmon(7),
    "create_remote_thread": _sysmon(8),
    "raw_access_thread": _sysmon(9),
    "process_access": _sysmon(10),
    "file_event": _sysmon(11),
    "registry_add": _sysmon(12),
    "registry_delete": _sysmon(12),
    "registry_set": _sysmon(13),
    "registry_rename": _sysmon(14),
    "registry_event": _sysmon(12, 13, 14),
    "create_stream_hash": _sysmon(15),
    "pipe_created": _sysmon(17, 18),
    "wmi_event": _sysmon(19, 20, 21),
    "dns_query": _sysmon(22),
    "file_delete": _sysmon(23, 26),  # archived and logged-only deletions, as pySigma's Sysmon pipeline
    "file_delete_detected": _sysmon(26),
    "clipboard_capture": _sysmon(24),
    "process_tampering": _sysmon(25),
    "file_block_executable": _sysmon(27),
    "file_block_shredding": _sysmon(28),
    "file_executable_detected": _sysmon(29),
    "sysmon_error": _sysmon(255),
    "ps_module": (RecordSource(POWERSHELL, (4103,)),),
    "ps_script": (RecordSource(POWERSHELL, (4104,)),),
    "ps_classic_start": (RecordSource(POWERSHELL_CLASSIC, (400,)),),
    "ps_classic_provider_start": (RecordSource(POWERSHELL_CLASSIC, (600,)),),
    "ps_classic_script": (RecordSource(POWERSHELL_CLASSIC, (800,)),),
}

# Sigma `service` (product windows) -> event-log channel.
SERVICE_CHANNELS: Mapping[str, tuple[str, ...]] = {
    "security": (SECURITY,),
    "system": ("System",),
    "application": ("Application",),
    "sysmon": (SYSMON,),
    "powershell": (POWERSHELL,),
    "powershell-classic": (POWERSHELL_CLASSIC,),
    "taskscheduler": ("Microsoft-Windows-TaskScheduler/Operational",),
    "wmi": ("Microsoft-Windows-WMI-Activity/Operational",),
    "windefend": ("Microsoft-Windows-Windows Defender/Operational",),
    "dns-server": ("DNS Server",),
    "driver-framework": ("Microsoft-Windows-DriverFrameworks-UserMode/Operational",),
    "bits-client": ("Microsoft-Windows-Bits-Client/Operational",),
    "firewall-as": ("Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",),
    "codeintegrity-operational": ("Microsoft-Windows-CodeIntegrity/Operational",),
    "ntlm": ("Microsoft-Windows-NTLM/Operational",),
    "applocker": (
        "Microsoft-Windows-AppLocker/EXE and DLL",
        "Microsoft-Windows-AppLocker/MSI and Script",
        "Microsoft-Windows-AppLocker/Packaged app-Deployment",
        "Microsoft-Windows-AppLocker/Packaged app-Execution",
    ),
    "printservice-admin": ("Microsoft-Windows-PrintService/Admin",),
    "printservice-operational": ("Microsoft-Windows-PrintService/Operational",),
    "smbclient-security": ("Microsoft-Windows-SmbClient/Security",),
    "smbclient-connectivity": ("Microsoft-Windows-SmbClient/Connectivity",),
    "terminalservices-localsessionmanager": (
        "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
    ),
    "openssh": ("OpenSSH/Operational",),
    "msexchange-management": ("MSExchange Management",),
    "dhcp": ("Microsoft-Windows-DHCP-Server/Operational",),
    "lsa-server": ("Microsoft-Windows-LSA/Operational",),
    "appxdeployment-server": ("Microsoft-Windows-AppXDeploymentServer/Operational",),
    "appxpackaging-om": ("Microsoft-Windows-AppxPackaging/Operational",),
    "capi2": ("Microsoft-Windows-CAPI2/Operational",),
    "certificateservicesclient-lifecycle-system": (
        "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
    ),
    "security-mitigations": (
        "Microsoft-Windows-Security-Mitigations/Kernel Mode",
        "Microsoft-Windows-Security-Mitigations/User Mode",
    ),
    "diagnosis-scripted": ("Microsoft-Windows-Diagnosis-Scripted/Operational",),
    "shell-core": ("Microsoft-Windows-Shell-Core/Operational",),
    "vhdmp": ("Microsoft-Windows-VHDMP/Operational",),
    "ldap": ("Microsoft-Windows-LDAP-Client/Debug",),
}

# Windows services SigmaHQ rules use that neither the table above nor pySigma name a channel for.
MORE_CHANNELS: Mapping[str, tuple[str, ...]] = {
    "iis-configuration": ("Microsoft-IIS-Configuration/Operational",),
    "smbserver-connectivity": ("Microsoft-Windows-SMBServer/Connectivity",),
}


@cache
def service_channels() -> Mapping[str, tuple[str, ...]]:
    """Every Windows service siemc knows -> its channels: pySigma's channel table (its Windows
    pipelines' `windows_logsource_mapping`), the services it lacks, and SERVICE_CHANNELS, which wins.
    The one table both the targets' Windows event-log sources and `siemc eval` read."""
    pysigma = {
        service: (channels,) if isinstance(channels, str) else tuple(channels)
        for service, channels in windows_logsource_mapping.items()
    }
    return {**MORE_CHANNELS, **pysigma, **SERVICE_CHANNELS}


RecordFilter = Callable[[Mapping[str, Any]], bool]


def record_sources(logsource: SigmaLogSource) -> tuple[RecordSource, ...] | None:
    """The records a log source covers; None when it is not a Windows event-log source siemc knows."""
    if (logsource.product or "").lower() != "windows":
        return None
    sources: tuple[RecordSource, ...] | None = None
    if logsource.category:
        sources = CATEGORY_SOURCES.get(logsource.category.lower())
    if sources is None and logsource.service:
        channels = service_channels().get(logsource.service.lower())
        sources = tuple(RecordSource(channel) for channel in channels) if channels else None
    return sources


def _event_id(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def record_filter(logsource: SigmaLogSource) -> RecordFilter | None:
    """A test of a flattened record against the log source; None: the log source filters nothing."""
    sources = record_sources(logsource)
    if sources is None:
        return None

    def accepts(record: Mapping[str, Any]) -> bool:
        channel = str(record.get("Channel", "")).lower()
        event_id = _event_id(record.get("EventID"))
        return any(source.covers(channel, event_id) for source in sources)

    return accepts
