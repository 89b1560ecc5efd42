"""What the T1219 rule means, written out by hand from its specification (not from any output).

Each case is a process-creation event in Sigma field names, with the expected verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

# The seed's 33 tool file names and the category the remote access tool catalog gives each tool
# (detections/catalog/categories.cyml; the rule reads them from the catalog's file-name list).
TOOLS: dict[str, str] = {
    "teamviewer.exe": "Commercial RMM",
    "teamviewer_service.exe": "Commercial RMM",
    "anydesk.exe": "Commercial RMM",
    "anydesk_service.exe": "Commercial RMM",
    "screenconnect.exe": "Commercial RMM",
    "screenconnectclient.exe": "Commercial RMM",
    "connectwisecontrol.client.exe": "Commercial RMM",
    "logmein.exe": "LogMeIn",
    "lmi_rescue.exe": "LogMeIn",
    "logmeinrescue.exe": "LogMeIn",
    "ammyyadmin.exe": "AmmyyAdmin",
    "aa_v3.exe": "AmmyyAdmin",
    "supremo.exe": "Other RMM",
    "supremoservice.exe": "Other RMM",
    "rustdesk.exe": "Other RMM",
    "splashtop.exe": "Other RMM",
    "splashtopremote.exe": "Other RMM",
    "ateraagent.exe": "MSP Tool",
    "ninjaone.exe": "MSP Tool",
    "ninjaremote.exe": "MSP Tool",
    "simplehelp.exe": "MSP Tool",
    "dwrcs.exe": "MSP Tool",
    "dwrcst.exe": "MSP Tool",
    "tmate": "Terminal Sharing",
    "vnc.exe": "VNC",
    "tvnserver.exe": "VNC",
    "vncviewer.exe": "VNC",
    "uvnc_service.exe": "VNC",
    "winvnc.exe": "VNC",
    "remotedesktopmanager.exe": "Connection Manager",
    "mstsc.exe": "RDP Tool",
    "chrome_remote_desktop.exe": "Application Feature",
    "remote_assistance_host.exe": "Application Feature",
}

# File names that look like tools but are not one of the 33.
LOOK_ALIKES = (
    "myteamviewer.exe",
    "tightvnc.exe",
    "myteamviewer_desktop.exe",
    "anydesk.exe.bak",
    "tmate.exe",
    "xmstsc.exe",
    "reg.exe",
)

FOLDERS = (
    "C:\\Program Files\\Remote\\",
    "C:\\Users\\alice\\AppData\\Local\\Temp\\",
    "D:\\Tools\\",
    "C:\\ProgramData\\",
)
# (parent file name, IsService, IsUserLaunched)
PARENTS = (
    ("services.exe", True, False),
    ("explorer.exe", False, True),
    ("svchost.exe", True, False),
    ("cmd.exe", False, True),
    ("PowerShell.exe", False, True),
    ("winlogon.exe", False, False),
)


def mixed_case(name: str, seed: int) -> str:
    return "".join(c.upper() if (i + seed) % 3 == 0 else c for i, c in enumerate(name))


@dataclass(frozen=True)
class Case:
    event: dict[str, str]
    matches: bool
    category: str | None = None
    is_service: bool | None = None
    is_user_launched: bool | None = None


def _event(index: int, name: str, folder: str, parent: str) -> dict[str, str]:
    return {
        "Image": folder + name,
        "CommandLine": f'"{folder}{name}" --run {index}',
        "ParentImage": "C:\\Windows\\System32\\" + parent,
        "ParentCommandLine": parent,
        "User": f"user{index}",
        "Computer": f"host{index:02d}",
    }


def cases() -> list[Case]:
    result = []
    for index, (tool, category) in enumerate(TOOLS.items()):
        parent, service, user = PARENTS[index % len(PARENTS)]
        event = _event(index, mixed_case(tool, index), FOLDERS[index % len(FOLDERS)], parent)
        result.append(Case(event, True, category, service, user))
    for offset, name in enumerate(LOOK_ALIKES):
        index = len(TOOLS) + offset
        result.append(Case(_event(index, name, FOLDERS[offset % len(FOLDERS)], "explorer.exe"), False))
    # A folder named like a tool does not make its program one.
    result.append(Case(_event(99, "notepad.exe", "C:\\anydesk.exe\\", "explorer.exe"), False))
    return result
