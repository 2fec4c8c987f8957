#!/usr/bin/env python3
# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""One JSON hardware report of this machine (schema 1), standard library only (Python 3.6+).

The collector behind the `mko.fleet.hardware` module (the `hardware` role): Ansible ships it to
each node inside the module. Also runs on its own and prints the report on stdout:

    python3 hardware_collect.py [--timeout SECONDS]

Read-only, and never fails because a tool or file is missing: a section it cannot fill is empty
(null or []). It writes nothing to stdout or stderr while collecting: as a module, stdout is the
module's result.

Tests: python3 -m unittest discover -s collections/ansible_collections/mko/fleet/tests/unit
"""

import datetime
import glob
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings

SCHEMA = 1
# Seconds one external command may take (a hung Docker daemon or API server must not hang the run).
DEFAULT_TIMEOUT = 30
# Two /proc/stat samples this far apart give cpu.usage_percent.
CPU_SAMPLE_SECONDS = 0.5
# Per-pod and overlay interfaces of Kubernetes/containers: dozens on a busy node, no hardware.
VIRTUAL_INTERFACE_PREFIXES = ('cali', 'veth', 'vxlan', 'flannel', 'cni', 'tunl', 'kube-ipvs', 'nodelocaldns', 'lxc')
# Filesystems that hold no disk space of their own (snap squashfs images are mounted read-only).
PSEUDO_FSTYPES = {'tmpfs', 'devtmpfs', 'squashfs', 'ramfs', 'efivarfs', 'nsfs', 'proc', 'sysfs'}
# Mounts of pods and containers: one per volume on a Kubernetes node, already listed elsewhere.
CONTAINER_MOUNT_MARKERS = ('/kubelet/pods/', '/containerd/', '/docker/overlay2/', '/run/netns/')
# Thermal zone types that measure the CPU (Raspberry Pi, Intel, ARM SoCs, AMD via hwmon).
CPU_THERMAL_TYPES = ('cpu-thermal', 'cpu_thermal', 'x86_pkg_temp', 'soc_thermal', 'soc-thermal')
CPU_HWMON_NAMES = ('coretemp', 'k10temp', 'cpu_thermal', 'zenpower')
MICROK8S_PATHS = ('/snap/bin/microk8s',)
# Kubernetes quantity suffixes (binary and decimal) for capacity_bytes.
QUANTITY_FACTORS = {
    'Ki': 1024, 'Mi': 1024 ** 2, 'Gi': 1024 ** 3, 'Ti': 1024 ** 4, 'Pi': 1024 ** 5, 'Ei': 1024 ** 6,
    'k': 1000, 'M': 1000 ** 2, 'G': 1000 ** 3, 'T': 1000 ** 4, 'P': 1000 ** 5, 'E': 1000 ** 6, '': 1,
}


# ---------------------------------------------------------------------------------------------
# Helpers: every read and command returns None on any failure instead of raising.

def read_text(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')
    except (OSError, ValueError):
        return None


def read_int(path):
    text = read_text(path)
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def which(tool, extra_paths=()):
    """The tool on PATH, else the first executable of extra_paths (sbin is not on every PATH)."""
    found = shutil.which(tool)
    if found:
        return found
    for path in extra_paths:
        if os.access(path, os.X_OK):
            return path
    return None


def run(argv, timeout=DEFAULT_TIMEOUT, must_succeed=False):
    """stdout of a command, or None if it is missing, fails to start or times out.

    A non-zero exit still returns stdout unless must_succeed: df and lsblk print what they could
    read and exit 1 for the rest (e.g. mounts a container may not stat), while a JSON report of a
    failed pvs or kubectl means nothing.
    """
    if argv[0] is None:
        return None
    try:
        # Own process group, so a timeout also ends the children of wrapper scripts (microk8s is a
        # shell script around kubectl), which would otherwise keep stdout open and block us.
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            universal_newlines=True, env=dict(os.environ, LC_ALL='C'), start_new_session=True,
        )
    except (OSError, ValueError):
        return None
    try:
        stdout, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass
        process.communicate()
        return None
    if must_succeed and process.returncode != 0:
        return None
    return stdout


def to_int(value):
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None


def to_float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def to_bool(value):
    """lsblk prints ROTA as true/false (util-linux >= 2.33) or "0"/"1" (older)."""
    if isinstance(value, bool):
        return value
    if value in ('1', 1):
        return True
    if value in ('0', 0):
        return False
    return None


def millidegrees(value):
    number = to_int(value)
    return round(number / 1000.0, 1) if number is not None else None


def parse_json(text):
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Parsers: pure functions of a tool's output or a file's text, tested in test_collect.py.

def parse_os_release(text):
    fields = {}
    for line in (text or '').splitlines():
        key, sep, value = line.partition('=')
        if sep:
            fields[key.strip()] = value.strip().strip('"\'')
    name = fields.get('NAME')
    if name and name.endswith(' GNU/Linux'):
        name = name[:-len(' GNU/Linux')]
    return {'distribution': name or None, 'version': fields.get('VERSION_ID') or None}


def parse_pi_model(text):
    model = (text or '').replace('\x00', '').strip()
    return model if model.startswith('Raspberry Pi') else None


def parse_uptime(text):
    try:
        return int(float((text or '').split()[0]))
    except (IndexError, ValueError):
        return None


def parse_loadavg(text):
    try:
        return [float(x) for x in (text or '').split()[:3]] if len((text or '').split()) >= 3 else []
    except ValueError:
        return []


def parse_cpu_times(text):
    """(idle, total) jiffies of the `cpu` line of /proc/stat, or None."""
    for line in (text or '').splitlines():
        parts = line.split()
        if parts and parts[0] == 'cpu':
            try:
                values = [int(v) for v in parts[1:]]
            except ValueError:
                return None
            # user nice system idle iowait irq softirq steal [guest guest_nice, already in user]
            idle = values[3] + (values[4] if len(values) > 4 else 0)
            return idle, sum(values[:8])
    return None


def cpu_usage_percent(first, second):
    if not first or not second:
        return None
    idle = second[0] - first[0]
    total = second[1] - first[1]
    if total <= 0:
        return None
    return round(100.0 * (total - idle) / total, 1)


def parse_cpuinfo_model(text):
    """The CPU model name from /proc/cpuinfo (x86: "model name"; some ARM: "Processor")."""
    for key in ('model name', 'Processor', 'cpu model'):
        for line in (text or '').splitlines():
            name, sep, value = line.partition(':')
            if sep and name.strip() == key and value.strip():
                return value.strip()
    return None


def parse_lscpu_model(text):
    for line in (text or '').splitlines():
        name, sep, value = line.partition(':')
        if sep and name.strip() == 'Model name' and value.strip() not in ('', '-'):
            return value.strip()
    return None


def parse_meminfo(text):
    kib = {}
    for line in (text or '').splitlines():
        name, sep, value = line.partition(':')
        if sep:
            number = to_int(value.strip().split(' ')[0])
            if number is not None:
                kib[name.strip()] = number

    def mb(key):
        return kib[key] // 1024 if key in kib else None

    available = mb('MemAvailable')
    if available is None and 'MemFree' in kib:
        # Kernels before 3.14 have no MemAvailable.
        available = (kib['MemFree'] + kib.get('Buffers', 0) + kib.get('Cached', 0)) // 1024
    return {
        'total_mb': mb('MemTotal'),
        'available_mb': available,
        'swap_total_mb': mb('SwapTotal'),
        'swap_free_mb': mb('SwapFree'),
    }


def _flatten_children(node):
    out = []
    for child in node.get('children') or []:
        out.append({
            'name': child.get('name'),
            'size_bytes': to_int(child.get('size')),
            'type': child.get('type'),
            'fstype': child.get('fstype'),
            'mountpoint': child.get('mountpoint'),
        })
        out.extend(_flatten_children(child))
    return out


def parse_lsblk(text):
    """Disks from `lsblk -J -b -o NAME,SIZE,TYPE,MODEL,ROTA,FSTYPE,MOUNTPOINT`.

    Loop devices (one per snap on Ubuntu) are left out. A device's children are all that sits on
    it, depth first (partitions, then RAID/LVM/crypt devices on them), as one flat list.
    """
    data = parse_json(text)
    if not isinstance(data, dict):
        return []
    devices = []
    for dev in data.get('blockdevices') or []:
        if dev.get('type') == 'loop':
            continue
        model = dev.get('model')
        devices.append({
            'name': dev.get('name'),
            'size_bytes': to_int(dev.get('size')),
            'type': dev.get('type'),
            'model': model.strip() if isinstance(model, str) and model.strip() else None,
            'rotational': to_bool(dev.get('rota')),
            'children': _flatten_children(dev),
        })
    return devices


def parse_df(text):
    """Filesystems from `df -B1 -P -T`, without pseudo and per-container mounts."""
    filesystems = []
    for line in (text or '').splitlines()[1:]:
        parts = line.split(None, 6)
        if len(parts) < 7:
            continue
        source, fstype, size, used, avail, _capacity, mount = parts
        if fstype in PSEUDO_FSTYPES or any(m in mount for m in CONTAINER_MOUNT_MARKERS):
            continue
        # Containers' overlays are not disks; an overlay root (live systems, the lab) is kept.
        if fstype == 'overlay' and mount != '/':
            continue
        filesystems.append({
            'source': source,
            'fstype': fstype,
            'size_bytes': to_int(size),
            'used_bytes': to_int(used),
            'avail_bytes': to_int(avail),
            'mount': mount,
        })
    return filesystems


LVM_FIELDS = {
    'pv': {'pv_name': ('name', str), 'vg_name': ('vg', str), 'pv_size': ('size_bytes', int),
           'pv_free': ('free_bytes', int)},
    'vg': {'vg_name': ('name', str), 'pv_count': ('pv_count', int), 'lv_count': ('lv_count', int),
           'vg_size': ('size_bytes', int), 'vg_free': ('free_bytes', int)},
    'lv': {'lv_name': ('name', str), 'vg_name': ('vg', str), 'lv_size': ('size_bytes', int),
           'lv_path': ('path', str), 'lv_attr': ('attr', str)},
}


def lvm_options(kind):
    return ','.join(LVM_FIELDS[kind])


def parse_lvm_report(text, kind):
    """Rows of `pvs|vgs|lvs --reportformat json --units b --nosuffix -o <LVM_FIELDS>`."""
    data = parse_json(text)
    if not isinstance(data, dict):
        return []
    rows = []
    for report in data.get('report') or []:
        for row in report.get(kind) or []:
            out = {}
            for field, (key, kind_of) in LVM_FIELDS[kind].items():
                value = row.get(field)
                if kind_of is int:
                    out[key] = to_int(value)
                else:
                    out[key] = value if value not in (None, '') else None
            rows.append(out)
    return rows


MD_LINE = re.compile(r'^(md\S*)\s*:\s*(.*)$')
MD_MEMBER = re.compile(r'^([^\[\s]+)\[(\d+)\](\([A-Za-z]\))?$')


def parse_mdstat(text):
    """Arrays of /proc/mdstat: name, level, state, member devices in slot order."""
    arrays = []
    for line in (text or '').splitlines():
        match = MD_LINE.match(line.strip())
        if not match:
            continue
        words = match.group(2).split()
        if not words:
            continue
        state = words[0]
        rest = words[1:]
        # "active (auto-read-only) raid1 ..." / "active (read-only) ..."
        while rest and rest[0].startswith('('):
            rest = rest[1:]
        level = None
        if rest and not MD_MEMBER.match(rest[0]):
            level = rest[0]
            rest = rest[1:]
        members = []
        for word in rest:
            member = MD_MEMBER.match(word)
            if member:
                members.append((int(member.group(2)), member.group(1)))
        arrays.append({
            'name': match.group(1),
            'level': level,
            'state': state,
            'devices': [name for _, name in sorted(members)],
        })
    return arrays


def is_virtual_interface(name):
    return name == 'lo' or name.startswith(VIRTUAL_INTERFACE_PREFIXES)


def parse_ip_addr(text):
    """Interfaces from `ip -j addr` (without lo and per-pod interfaces); speed added later."""
    data = parse_json(text)
    if not isinstance(data, list):
        return None
    interfaces = []
    for link in data:
        name = link.get('ifname')
        if not name or is_virtual_interface(name) or link.get('link_type') == 'loopback':
            continue
        addresses = []
        for info in link.get('addr_info') or []:
            if info.get('local') and info.get('family') in ('inet', 'inet6'):
                addresses.append({
                    'address': info['local'],
                    'prefix': to_int(info.get('prefixlen')),
                    'family': info['family'],
                })
        state = link.get('operstate')
        interfaces.append({
            'name': name,
            'mac': link.get('address') or None,
            'addresses': addresses,
            'speed_mbps': None,
            'state': state.lower() if isinstance(state, str) else None,
        })
    return interfaces


def parse_speed(text):
    """/sys/class/net/*/speed: Mb/s, or -1 / unreadable when the link is down or has no speed."""
    speed = to_int((text or '').strip() or None)
    return speed if speed is not None and speed > 0 else None


GPU_CLASSES = ('VGA compatible controller', '3D controller', 'Display controller')


def parse_lspci(text):
    """GPUs from `lspci -mm`: slot, vendor and model of display-class devices."""
    gpus = []
    for line in (text or '').splitlines():
        try:
            fields = shlex.split(line)
        except ValueError:
            continue
        if len(fields) < 4:
            continue
        slot, device_class, vendor, model = fields[:4]
        if not any(device_class.startswith(c) for c in GPU_CLASSES):
            continue
        gpus.append({'slot': slot, 'vendor': vendor, 'model': model, 'nvidia': None})
    return gpus


def parse_nvidia_smi(text):
    """`nvidia-smi --query-gpu=pci.bus_id,name,memory.total,temperature.gpu --format=csv,noheader,nounits`.

    Keyed by the PCI slot as lspci writes it (bus:device.function, no domain, lower case).
    """
    by_slot = {}
    for line in (text or '').splitlines():
        parts = [p.strip() for p in line.split(',')]
        if len(parts) < 4:
            continue
        bus_id, name, memory, temperature = parts[:4]
        slot = bus_id.lower()
        if slot.count(':') == 2:
            slot = slot.split(':', 1)[1]
        by_slot[slot] = {
            'name': name,
            'memory_total_mb': to_int(memory),
            'temperature_c': to_float(temperature),
        }
    return by_slot


def attach_nvidia(gpus, by_slot):
    for gpu in gpus:
        slot = gpu['slot'].lower()
        if slot.count(':') == 2:
            slot = slot.split(':', 1)[1]
        gpu['nvidia'] = by_slot.get(slot)
    return gpus


def parse_docker_volumes(text):
    """`docker volume ls --format '{{json .}}'`: one JSON object per line."""
    volumes = []
    for line in (text or '').splitlines():
        item = parse_json(line.strip())
        if isinstance(item, dict) and item.get('Name'):
            volumes.append({
                'name': item.get('Name'),
                'driver': item.get('Driver') or None,
                'mountpoint': item.get('Mountpoint') or None,
            })
    return volumes


QUANTITY = re.compile(r'^([0-9.]+)([A-Za-z]*)$')


def quantity_bytes(quantity):
    """A Kubernetes quantity ("10Gi", "500M", "1e9") in bytes, or None."""
    if not isinstance(quantity, str):
        return None
    try:
        return int(float(quantity))
    except ValueError:
        pass
    match = QUANTITY.match(quantity.strip())
    if not match or match.group(2) not in QUANTITY_FACTORS:
        return None
    try:
        return int(float(match.group(1)) * QUANTITY_FACTORS[match.group(2)])
    except ValueError:
        return None


def empty_kubernetes():
    return {'persistent_volumes': [], 'persistent_volume_claims': [], 'storage_classes': []}


def parse_kubernetes_storage(text):
    """`kubectl get pv,pvc,storageclass -A -o json` (a List) in the report's shape."""
    out = empty_kubernetes()
    data = parse_json(text)
    if not isinstance(data, dict):
        return out
    for item in data.get('items') or []:
        kind = item.get('kind')
        meta = item.get('metadata') or {}
        spec = item.get('spec') or {}
        status = item.get('status') or {}
        if kind == 'PersistentVolume':
            claim = spec.get('claimRef') or {}
            capacity = (spec.get('capacity') or {}).get('storage')
            out['persistent_volumes'].append({
                'name': meta.get('name'),
                'capacity': capacity,
                'capacity_bytes': quantity_bytes(capacity),
                'storage_class': spec.get('storageClassName'),
                'status': status.get('phase'),
                'claim': '%s/%s' % (claim['namespace'], claim['name']) if claim.get('name') else None,
                'reclaim_policy': spec.get('persistentVolumeReclaimPolicy'),
            })
        elif kind == 'PersistentVolumeClaim':
            capacity = (status.get('capacity') or {}).get('storage') or \
                ((spec.get('resources') or {}).get('requests') or {}).get('storage')
            out['persistent_volume_claims'].append({
                'namespace': meta.get('namespace'),
                'name': meta.get('name'),
                'capacity': capacity,
                'capacity_bytes': quantity_bytes(capacity),
                'storage_class': spec.get('storageClassName'),
                'status': status.get('phase'),
                'volume': spec.get('volumeName'),
            })
        elif kind == 'StorageClass':
            annotations = meta.get('annotations') or {}
            out['storage_classes'].append({
                'name': meta.get('name'),
                'provisioner': item.get('provisioner'),
                'reclaim_policy': item.get('reclaimPolicy'),
                'default': annotations.get('storageclass.kubernetes.io/is-default-class') == 'true',
            })
    return out


# ---------------------------------------------------------------------------------------------
# Collectors: read this machine. Each one is wrapped by section() so a bug in one costs only
# its own section.

def collect_os():
    release = parse_os_release(read_text('/etc/os-release') or read_text('/usr/lib/os-release'))
    model = read_text('/proc/device-tree/model') or read_text('/sys/firmware/devicetree/base/model')
    return {
        'distribution': release['distribution'],
        'version': release['version'],
        'kernel': platform.release() or None,
        'arch': platform.machine() or None,
        'uptime_seconds': parse_uptime(read_text('/proc/uptime')),
        'pi_model': parse_pi_model(model),
    }


def cpu_topology():
    """(cores, threads) from sysfs: threads are online CPUs, cores unique (package, core) pairs."""
    cpus = glob.glob('/sys/devices/system/cpu/cpu[0-9]*')
    cores = set()
    threads = 0
    for cpu in cpus:
        if read_int(os.path.join(cpu, 'online')) == 0:
            continue
        threads += 1
        package = read_int(os.path.join(cpu, 'topology/physical_package_id'))
        core = read_int(os.path.join(cpu, 'topology/core_id'))
        cores.add((package, core) if core is not None else cpu)
    threads = threads or os.cpu_count() or None
    return (len(cores) or threads), threads


def cpu_temperature(zones):
    for zone in zones:
        if zone['type'] in CPU_THERMAL_TYPES and zone['temp_c'] is not None:
            return zone['temp_c']
    for hwmon in sorted(glob.glob('/sys/class/hwmon/hwmon*')):
        name = (read_text(os.path.join(hwmon, 'name')) or '').strip()
        if name in CPU_HWMON_NAMES:
            temp = millidegrees(read_text(os.path.join(hwmon, 'temp1_input')))
            if temp is not None:
                return temp
    return None


def start_cpu_sample():
    """The first /proc/stat sample and when it was taken (monotonic clock)."""
    return parse_cpu_times(read_text('/proc/stat')), time.monotonic()


def collect_cpu(zones, sample):
    """CPU facts; usage over the time since `sample`, at least CPU_SAMPLE_SECONDS."""
    first, started = sample
    time.sleep(max(0.0, CPU_SAMPLE_SECONDS - (time.monotonic() - started)))
    second = parse_cpu_times(read_text('/proc/stat'))
    cores, threads = cpu_topology()
    model = parse_cpuinfo_model(read_text('/proc/cpuinfo')) or parse_lscpu_model(run([which('lscpu')]))
    return {
        'model': model,
        'cores': cores,
        'threads': threads,
        'load': parse_loadavg(read_text('/proc/loadavg')),
        'usage_percent': cpu_usage_percent(first, second),
        'temperature_c': cpu_temperature(zones),
    }


def collect_disks():
    lsblk = run([which('lsblk'), '-J', '-b', '-o', 'NAME,SIZE,TYPE,MODEL,ROTA,FSTYPE,MOUNTPOINT'])
    return {
        'devices': parse_lsblk(lsblk),
        # Files bind-mounted over files (a container's /etc/resolv.conf, /run/host/os-release
        # under systemd-nspawn) show up in df but are not filesystems of their own.
        'filesystems': [fs for fs in parse_df(run([which('df'), '-B1', '-P', '-T'])) if os.path.isdir(fs['mount'])],
    }


def collect_lvm(timeout):
    out = {}
    for kind, tool in (('pv', 'pvs'), ('vg', 'vgs'), ('lv', 'lvs')):
        argv = [which(tool, ('/sbin/' + tool, '/usr/sbin/' + tool)), '--reportformat', 'json',
                '--units', 'b', '--nosuffix', '-o', lvm_options(kind)]
        out[tool] = parse_lvm_report(run(argv, timeout, must_succeed=True), kind)
    return out


def collect_raid():
    text = read_text('/proc/mdstat')
    return {'mdstat': text, 'arrays': parse_mdstat(text)}


def collect_network():
    interfaces = parse_ip_addr(run([which('ip', ('/sbin/ip', '/usr/sbin/ip')), '-j', 'addr'], must_succeed=True))
    if interfaces is None:
        # No iproute2 with JSON output: names, MACs and states from sysfs, no addresses.
        interfaces = []
        for path in sorted(glob.glob('/sys/class/net/*')):
            name = os.path.basename(path)
            if is_virtual_interface(name):
                continue
            interfaces.append({
                'name': name,
                'mac': (read_text(os.path.join(path, 'address')) or '').strip() or None,
                'addresses': [],
                'speed_mbps': None,
                'state': (read_text(os.path.join(path, 'operstate')) or '').strip() or None,
            })
    for interface in interfaces:
        interface['speed_mbps'] = parse_speed(read_text('/sys/class/net/%s/speed' % interface['name']))
    return interfaces


def collect_gpus(timeout):
    gpus = parse_lspci(run([which('lspci', ('/usr/bin/lspci', '/sbin/lspci', '/usr/sbin/lspci')), '-mm']))
    if any('nvidia' in gpu['vendor'].lower() for gpu in gpus):
        argv = [which('nvidia-smi'), '--query-gpu=pci.bus_id,name,memory.total,temperature.gpu',
                '--format=csv,noheader,nounits']
        attach_nvidia(gpus, parse_nvidia_smi(run(argv, timeout, must_succeed=True)))
    return gpus


def thermal_zones():
    zones = []
    paths = glob.glob('/sys/class/thermal/thermal_zone*')
    for path in sorted(paths, key=lambda p: to_int(re.sub(r'\D', '', os.path.basename(p))) or 0):
        zones.append({
            'name': os.path.basename(path),
            'type': (read_text(os.path.join(path, 'type')) or '').strip() or None,
            'temp_c': millidegrees(read_text(os.path.join(path, 'temp'))),
        })
    return zones


def fans():
    found = []
    for hwmon in sorted(glob.glob('/sys/class/hwmon/hwmon*')):
        chip = (read_text(os.path.join(hwmon, 'name')) or '').strip()
        for fan_input in sorted(glob.glob(os.path.join(hwmon, 'fan*_input'))):
            fan = os.path.basename(fan_input)[:-len('_input')]
            label = (read_text(os.path.join(hwmon, fan + '_label')) or '').strip()
            found.append((chip, label or fan, read_int(fan_input)))
    several_chips = len({chip for chip, _, _ in found}) > 1
    return [
        {'name': '%s/%s' % (chip, name) if several_chips and chip else name, 'rpm': rpm}
        for chip, name, rpm in found
    ]


def collect_volumes(timeout):
    docker = run([which('docker'), 'volume', 'ls', '--format', '{{json .}}'], timeout, must_succeed=True)
    microk8s = which('microk8s', MICROK8S_PATHS)
    kubernetes = empty_kubernetes()
    if microk8s:
        kubernetes = parse_kubernetes_storage(
            run([microk8s, 'kubectl', 'get', 'pv,pvc,storageclass', '-A', '-o', 'json'], timeout, must_succeed=True))
    return {'docker': parse_docker_volumes(docker), 'kubernetes': kubernetes}


def section(collector, empty, *args):
    try:
        return collector(*args)
    except Exception:  # noqa: BLE001 - one broken section must not cost the whole report
        return empty() if callable(empty) else empty


def collect(timeout=DEFAULT_TIMEOUT):
    """The report. The CPU usage sample spans the other sections' collection, so the sample's
    half second is not added to the run time."""
    sample = section(start_cpu_sample, lambda: (None, time.monotonic()))
    zones = section(thermal_zones, list)
    report = {
        'schema': SCHEMA,
        'hostname': socket.gethostname().split('.')[0] or None,
        'collected_at': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'os': section(collect_os, lambda: dict.fromkeys(
            ('distribution', 'version', 'kernel', 'arch', 'uptime_seconds', 'pi_model'))),
        'memory': section(lambda: parse_meminfo(read_text('/proc/meminfo')), lambda: dict.fromkeys(
            ('total_mb', 'available_mb', 'swap_total_mb', 'swap_free_mb'))),
        'disks': section(collect_disks, lambda: {'devices': [], 'filesystems': []}),
        'lvm': section(collect_lvm, lambda: {'pvs': [], 'vgs': [], 'lvs': []}, timeout),
        'raid': section(collect_raid, lambda: {'mdstat': None, 'arrays': []}),
        'network': section(collect_network, list),
        'gpus': section(collect_gpus, list, timeout),
        'thermal': {'zones': zones, 'fans': section(fans, list)},
        'volumes': section(collect_volumes, lambda: {'docker': [], 'kubernetes': empty_kubernetes()}, timeout),
    }
    report['cpu'] = section(collect_cpu, lambda: dict.fromkeys(
        ('model', 'cores', 'threads', 'load', 'usage_percent', 'temperature_c')), zones, sample)
    return report


def main(argv):
    warnings.simplefilter('ignore')
    timeout = DEFAULT_TIMEOUT
    if len(argv) > 2 and argv[1] == '--timeout':
        timeout = to_int(argv[2]) or DEFAULT_TIMEOUT
    sys.stdout.write(json.dumps(collect(timeout), sort_keys=True) + '\n')
    sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
