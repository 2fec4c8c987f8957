# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Tests of the hardware collector (plugins/module_utils/hardware_collect.py), standard library
only (no pytest on the build machines):

    python3 -m unittest discover -s collections/ansible_collections/mko/fleet/tests/unit -v

Parsers are tested on captured tool output (real formats, including older util-linux and LVM
versions); the whole script is run once on this machine and once with no tools on PATH.
"""

import json
import os
import subprocess
import sys
import time
import unittest

MODULE_UTILS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'plugins', 'module_utils')
sys.path.insert(0, MODULE_UTILS)
import hardware_collect as collect  # noqa: E402 - the file itself, not through an installed collection

SCRIPT = os.path.join(MODULE_UTILS, 'hardware_collect.py')


class OsTest(unittest.TestCase):
    def test_debian_os_release(self):
        text = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
        self.assertEqual(collect.parse_os_release(text), {'distribution': 'Debian', 'version': '12'})

    def test_ubuntu_os_release(self):
        text = 'NAME="Ubuntu"\nVERSION_ID="24.04"\n'
        self.assertEqual(collect.parse_os_release(text), {'distribution': 'Ubuntu', 'version': '24.04'})

    def test_missing_os_release(self):
        self.assertEqual(collect.parse_os_release(None), {'distribution': None, 'version': None})

    def test_pi_model_strips_nul(self):
        self.assertEqual(collect.parse_pi_model('Raspberry Pi 5 Model B Rev 1.0\x00'), 'Raspberry Pi 5 Model B Rev 1.0')

    def test_other_device_tree_board_is_not_a_pi(self):
        self.assertIsNone(collect.parse_pi_model('Radxa ROCK 5B\x00'))
        self.assertIsNone(collect.parse_pi_model(None))

    def test_uptime(self):
        self.assertEqual(collect.parse_uptime('12345.67 54321.00\n'), 12345)
        self.assertIsNone(collect.parse_uptime(''))


class CpuTest(unittest.TestCase):
    def test_loadavg(self):
        self.assertEqual(collect.parse_loadavg('0.10 0.20 0.30 1/123 4567\n'), [0.1, 0.2, 0.3])
        self.assertEqual(collect.parse_loadavg(None), [])

    def test_usage_from_two_samples(self):
        first = collect.parse_cpu_times('cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n')
        second = collect.parse_cpu_times('cpu  150 0 150 750 150 0 0 0 0 0\n')
        # 200 jiffies passed, 100 of them idle or iowait.
        self.assertEqual(collect.cpu_usage_percent(first, second), 50.0)

    def test_usage_without_progress_is_unknown(self):
        sample = collect.parse_cpu_times('cpu  1 2 3 4 5 6 7 8\n')
        self.assertIsNone(collect.cpu_usage_percent(sample, sample))
        self.assertIsNone(collect.cpu_usage_percent(None, sample))

    def test_usage_sample_spans_the_time_already_spent(self):
        # A sample old enough (as if the other sections had taken a second): no waiting, and the
        # usage over the time since the sample.
        first, _ = collect.start_cpu_sample()
        time.sleep(0.2)
        started = time.monotonic()
        cpu = collect.collect_cpu([], (first, started - 1.0))
        self.assertLess(time.monotonic() - started, collect.CPU_SAMPLE_SECONDS / 2)
        self.assertIsInstance(cpu['usage_percent'], float)

    def test_usage_sample_waits_out_the_rest_of_its_half_second(self):
        sample = collect.start_cpu_sample()
        started = time.monotonic()
        collect.collect_cpu([], sample)
        self.assertGreaterEqual(time.monotonic() - sample[1], collect.CPU_SAMPLE_SECONDS)
        self.assertLess(time.monotonic() - started, collect.CPU_SAMPLE_SECONDS + 0.4)

    def test_model_x86_and_arm(self):
        self.assertEqual(collect.parse_cpuinfo_model('processor\t: 0\nmodel name\t: Intel(R) N100\n'), 'Intel(R) N100')
        # A Raspberry Pi 5 has no model name in /proc/cpuinfo: lscpu has it.
        self.assertIsNone(collect.parse_cpuinfo_model('processor\t: 0\nBogoMIPS\t: 108.00\nModel\t: Raspberry Pi 5\n'))
        self.assertEqual(collect.parse_lscpu_model('Architecture:  aarch64\nModel name:    Cortex-A76\n'), 'Cortex-A76')


class MemoryTest(unittest.TestCase):
    def test_meminfo_in_mb(self):
        text = 'MemTotal:        8052124 kB\nMemFree:  1000 kB\nMemAvailable:    6021876 kB\nSwapTotal: 2097148 kB\nSwapFree: 2097148 kB\n'
        self.assertEqual(collect.parse_meminfo(text), {
            'total_mb': 7863, 'available_mb': 5880, 'swap_total_mb': 2047, 'swap_free_mb': 2047})

    def test_old_kernel_without_memavailable(self):
        text = 'MemTotal: 2048000 kB\nMemFree: 102400 kB\nBuffers: 102400 kB\nCached: 102400 kB\n'
        self.assertEqual(collect.parse_meminfo(text)['available_mb'], 300)


LSBLK_238 = '''{
   "blockdevices": [
      {"name": "loop0", "size": 67108864, "type": "loop", "model": null, "rota": false, "fstype": "squashfs", "mountpoint": "/snap/core22/1"},
      {"name": "sda", "size": 500107862016, "type": "disk", "model": "Samsung SSD 870 ", "rota": false, "fstype": null, "mountpoint": null,
         "children": [
            {"name": "sda1", "size": 536870912, "type": "part", "model": null, "rota": false, "fstype": "vfat", "mountpoint": "/boot/efi"},
            {"name": "sda2", "size": 499570991104, "type": "part", "model": null, "rota": false, "fstype": "linux_raid_member", "mountpoint": null,
               "children": [
                  {"name": "md0", "size": 499435667456, "type": "raid1", "model": null, "rota": false, "fstype": "ext4", "mountpoint": "/"}
               ]
            }
         ]
      }
   ]
}'''
# util-linux 2.32 (Ubuntu 18.04 era): every value a string.
LSBLK_OLD = '{"blockdevices": [{"name": "mmcblk0", "size": "31914983424", "type": "disk", "model": null, "rota": "0", "fstype": null, "mountpoint": null}]}'


class DisksTest(unittest.TestCase):
    def test_lsblk_tree_is_flattened_and_loops_dropped(self):
        devices = collect.parse_lsblk(LSBLK_238)
        self.assertEqual([d['name'] for d in devices], ['sda'])
        sda = devices[0]
        self.assertEqual(sda['model'], 'Samsung SSD 870')
        self.assertIs(sda['rotational'], False)
        self.assertEqual(sda['size_bytes'], 500107862016)
        self.assertEqual([c['name'] for c in sda['children']], ['sda1', 'sda2', 'md0'])
        self.assertEqual(sda['children'][2], {
            'name': 'md0', 'size_bytes': 499435667456, 'type': 'raid1', 'fstype': 'ext4', 'mountpoint': '/'})

    def test_old_lsblk_strings_become_numbers(self):
        device = collect.parse_lsblk(LSBLK_OLD)[0]
        self.assertEqual(device['size_bytes'], 31914983424)
        self.assertIs(device['rotational'], False)
        self.assertEqual(device['children'], [])

    def test_lsblk_garbage(self):
        self.assertEqual(collect.parse_lsblk('lsblk: unknown column'), [])
        self.assertEqual(collect.parse_lsblk(None), [])

    def test_df_keeps_disks_and_overlay_root(self):
        text = '\n'.join([
            'Filesystem     Type     1-blocks        Used   Available Capacity Mounted on',
            '/dev/md0       ext4     490000000000 100000000000 365000000000      22% /',
            'tmpfs          tmpfs    1000000            0     1000000       0% /run',
            '/dev/loop0     squashfs 67108864    67108864           0     100% /snap/core22/1',
            '/dev/sda1      vfat     535805952     6291456   529514496       2% /boot/efi',
            'overlay        overlay  490000000000 100000000000 365000000000      22% /var/snap/microk8s/common/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs',
            '/dev/sdb1      ext4     1000 500 500 50% /mnt/my disk',
            'nfs:/export    nfs4     1000 500 500 50% /var/snap/microk8s/common/var/lib/kubelet/pods/x/volumes/y',
        ])
        filesystems = collect.parse_df(text)
        self.assertEqual([f['mount'] for f in filesystems], ['/', '/boot/efi', '/mnt/my disk'])
        self.assertEqual(filesystems[0], {
            'source': '/dev/md0', 'fstype': 'ext4', 'size_bytes': 490000000000, 'used_bytes': 100000000000,
            'avail_bytes': 365000000000, 'mount': '/'})
        overlay_root = collect.parse_df('h\noverlay overlay 10 5 5 50% /\n')
        self.assertEqual(overlay_root[0]['fstype'], 'overlay')


class LvmTest(unittest.TestCase):
    def test_reports(self):
        pvs = '{"report": [{"pv": [{"pv_name": "/dev/sdb", "vg_name": "data", "pv_size": "1000204886016", "pv_free": "0"}]}]}'
        vgs = '{"report": [{"vg": [{"vg_name": "data", "pv_count": "1", "lv_count": "1", "vg_size": "1000203837440", "vg_free": "0"}]}]}'
        lvs = '{"report": [{"lv": [{"lv_name": "pv1", "vg_name": "data", "lv_size": "1000203837440", "lv_path": "/dev/data/pv1", "lv_attr": "-wi-ao----"}]}]}'
        self.assertEqual(collect.parse_lvm_report(pvs, 'pv'), [
            {'name': '/dev/sdb', 'vg': 'data', 'size_bytes': 1000204886016, 'free_bytes': 0}])
        self.assertEqual(collect.parse_lvm_report(vgs, 'vg'), [
            {'name': 'data', 'pv_count': 1, 'lv_count': 1, 'size_bytes': 1000203837440, 'free_bytes': 0}])
        self.assertEqual(collect.parse_lvm_report(lvs, 'lv'), [
            {'name': 'pv1', 'vg': 'data', 'size_bytes': 1000203837440, 'path': '/dev/data/pv1', 'attr': '-wi-ao----'}])

    def test_no_lvm(self):
        self.assertEqual(collect.parse_lvm_report(None, 'pv'), [])
        self.assertEqual(collect.parse_lvm_report('{"report": [{"pv": []}]}', 'pv'), [])

    def test_requested_fields_are_the_parsed_ones(self):
        self.assertEqual(collect.lvm_options('pv'), 'pv_name,vg_name,pv_size,pv_free')


MDSTAT = '''Personalities : [raid1] [raid6] [raid5] [raid4] [linear]
md1 : active raid5 sdd1[3] sdc1[1] sdb1[0] sde1[4](S)
      2093056 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/3] [UUU]

md0 : active (auto-read-only) raid1 sdb2[1] sda2[0](F)
      1046528 blocks super 1.2 [2/1] [_U]

md127 : inactive sdf[0](S)
      1046528 blocks super 1.2

unused devices: <none>
'''


class RaidTest(unittest.TestCase):
    def test_arrays(self):
        self.assertEqual(collect.parse_mdstat(MDSTAT), [
            {'name': 'md1', 'level': 'raid5', 'state': 'active', 'devices': ['sdb1', 'sdc1', 'sdd1', 'sde1']},
            {'name': 'md0', 'level': 'raid1', 'state': 'active', 'devices': ['sda2', 'sdb2']},
            {'name': 'md127', 'level': None, 'state': 'inactive', 'devices': ['sdf']},
        ])

    def test_no_arrays(self):
        self.assertEqual(collect.parse_mdstat('Personalities : \nunused devices: <none>\n'), [])
        self.assertEqual(collect.parse_mdstat(None), [])


IP_ADDR = json.dumps([
    {'ifname': 'lo', 'link_type': 'loopback', 'address': '00:00:00:00:00:00', 'operstate': 'UNKNOWN',
     'addr_info': [{'family': 'inet', 'local': '127.0.0.1', 'prefixlen': 8}]},
    {'ifname': 'eth0', 'link_type': 'ether', 'address': '02:00:00:00:00:01', 'operstate': 'UP',
     'addr_info': [{'family': 'inet', 'local': '10.0.0.2', 'prefixlen': 24},
                   {'family': 'inet6', 'local': '2001:db8::2', 'prefixlen': 64}]},
    {'ifname': 'cali1234abcd', 'link_type': 'ether', 'address': 'ee:ee:ee:ee:ee:ee', 'operstate': 'UP', 'addr_info': []},
    {'ifname': 'wlan0', 'link_type': 'ether', 'address': '02:00:00:00:00:02', 'operstate': 'DOWN', 'addr_info': []},
])


class NetworkTest(unittest.TestCase):
    def test_ip_addr(self):
        self.assertEqual(collect.parse_ip_addr(IP_ADDR), [
            {'name': 'eth0', 'mac': '02:00:00:00:00:01', 'speed_mbps': None, 'state': 'up', 'addresses': [
                {'address': '10.0.0.2', 'prefix': 24, 'family': 'inet'},
                {'address': '2001:db8::2', 'prefix': 64, 'family': 'inet6'}]},
            {'name': 'wlan0', 'mac': '02:00:00:00:00:02', 'speed_mbps': None, 'state': 'down', 'addresses': []},
        ])

    def test_ip_without_json_support(self):
        self.assertIsNone(collect.parse_ip_addr('Option "-j" is unknown'))

    def test_speed(self):
        self.assertEqual(collect.parse_speed('1000\n'), 1000)
        self.assertIsNone(collect.parse_speed('-1\n'))
        self.assertIsNone(collect.parse_speed(None))


LSPCI = '''00:00.0 "Host bridge" "Intel Corporation" "Device 4617" -r04 "Intel Corporation" "Device 7270"
00:02.0 "VGA compatible controller" "Intel Corporation" "Alder Lake-N [UHD Graphics]" -p00 "Intel Corporation" "Device 7270"
01:00.0 "3D controller" "NVIDIA Corporation" "GA107GL [RTX A2000 8GB]" -ra1 "NVIDIA Corporation" "Device 1611"
'''


class GpuTest(unittest.TestCase):
    def test_lspci_and_nvidia(self):
        gpus = collect.parse_lspci(LSPCI)
        self.assertEqual([g['slot'] for g in gpus], ['00:02.0', '01:00.0'])
        self.assertEqual(gpus[0], {'slot': '00:02.0', 'vendor': 'Intel Corporation',
                                   'model': 'Alder Lake-N [UHD Graphics]', 'nvidia': None})
        smi = collect.parse_nvidia_smi('00000000:01:00.0, NVIDIA RTX A2000 8GB Laptop GPU, 8192, 41\n')
        collect.attach_nvidia(gpus, smi)
        self.assertIsNone(gpus[0]['nvidia'])
        self.assertEqual(gpus[1]['nvidia'], {'name': 'NVIDIA RTX A2000 8GB Laptop GPU', 'memory_total_mb': 8192,
                                             'temperature_c': 41.0})

    def test_nvidia_smi_unsupported_field(self):
        self.assertEqual(collect.parse_nvidia_smi('00000000:01:00.0, Tesla K80, 11441, [N/A]\n')['01:00.0']['temperature_c'], None)


class VolumesTest(unittest.TestCase):
    def test_docker(self):
        text = ('{"Availability":"N/A","Driver":"local","Labels":"","Mountpoint":"/var/lib/docker/volumes/v/_data","Name":"v","Scope":"local"}\n'
                'WARNING: not json\n')
        self.assertEqual(collect.parse_docker_volumes(text), [
            {'name': 'v', 'driver': 'local', 'mountpoint': '/var/lib/docker/volumes/v/_data'}])

    def test_quantities(self):
        self.assertEqual(collect.quantity_bytes('10Gi'), 10 * 1024 ** 3)
        self.assertEqual(collect.quantity_bytes('500M'), 500 * 1000 ** 2)
        self.assertEqual(collect.quantity_bytes('1e3'), 1000)
        self.assertEqual(collect.quantity_bytes('1.5Ki'), 1536)
        self.assertIsNone(collect.quantity_bytes('10Zi'))
        self.assertIsNone(collect.quantity_bytes(None))

    def test_kubernetes_storage(self):
        text = json.dumps({'kind': 'List', 'items': [
            {'kind': 'PersistentVolume', 'metadata': {'name': 'pvc-1'},
             'spec': {'capacity': {'storage': '1Gi'}, 'storageClassName': 'microk8s-hostpath',
                      'persistentVolumeReclaimPolicy': 'Delete', 'claimRef': {'namespace': 'default', 'name': 'data'}},
             'status': {'phase': 'Bound'}},
            {'kind': 'PersistentVolumeClaim', 'metadata': {'name': 'data', 'namespace': 'default'},
             'spec': {'storageClassName': 'microk8s-hostpath', 'volumeName': 'pvc-1', 'resources': {'requests': {'storage': '1Gi'}}},
             'status': {'phase': 'Bound', 'capacity': {'storage': '1Gi'}}},
            {'kind': 'PersistentVolumeClaim', 'metadata': {'name': 'pending', 'namespace': 'default'},
             'spec': {'resources': {'requests': {'storage': '2Gi'}}}, 'status': {'phase': 'Pending'}},
            {'kind': 'StorageClass', 'provisioner': 'microk8s.io/hostpath', 'reclaimPolicy': 'Delete',
             'metadata': {'name': 'microk8s-hostpath',
                          'annotations': {'storageclass.kubernetes.io/is-default-class': 'true'}}},
        ]})
        storage = collect.parse_kubernetes_storage(text)
        self.assertEqual(storage['persistent_volumes'], [{
            'name': 'pvc-1', 'capacity': '1Gi', 'capacity_bytes': 1073741824, 'storage_class': 'microk8s-hostpath',
            'status': 'Bound', 'claim': 'default/data', 'reclaim_policy': 'Delete'}])
        self.assertEqual([c['name'] for c in storage['persistent_volume_claims']], ['data', 'pending'])
        self.assertEqual(storage['persistent_volume_claims'][1]['capacity_bytes'], 2 * 1024 ** 3)
        self.assertIsNone(storage['persistent_volume_claims'][1]['volume'])
        self.assertEqual(storage['storage_classes'], [{
            'name': 'microk8s-hostpath', 'provisioner': 'microk8s.io/hostpath', 'reclaim_policy': 'Delete', 'default': True}])

    def test_no_kubernetes(self):
        self.assertEqual(collect.parse_kubernetes_storage(None), collect.empty_kubernetes())


class RunTest(unittest.TestCase):
    def test_missing_tool(self):
        self.assertIsNone(collect.run([collect.which('no-such-tool-here'), '--version']))

    def test_failed_command_keeps_stdout_unless_it_must_succeed(self):
        self.assertEqual(collect.run(['sh', '-c', 'echo partial; exit 1']), 'partial\n')
        self.assertIsNone(collect.run(['sh', '-c', 'echo partial; exit 1'], must_succeed=True))

    def test_timeout_ends_the_children_of_a_wrapper_too(self):
        started = time.monotonic()
        # The grandchild would keep stdout open for 30 s if only the shell were killed.
        self.assertIsNone(collect.run(['sh', '-c', 'sleep 30; echo late'], timeout=1))
        self.assertLess(time.monotonic() - started, 10)


def run_script(env=None):
    done = subprocess.run([sys.executable, SCRIPT, '--timeout', '10'], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, env=env, timeout=120)
    return done


class WholeScriptTest(unittest.TestCase):
    def assert_shape(self, report):
        self.assertEqual(report['schema'], 1)
        self.assertRegex(report['collected_at'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
        self.assertEqual(set(report), {'schema', 'hostname', 'collected_at', 'os', 'cpu', 'memory', 'disks', 'lvm',
                                       'raid', 'network', 'gpus', 'thermal', 'volumes'})
        self.assertEqual(set(report['os']), {'distribution', 'version', 'kernel', 'arch', 'uptime_seconds', 'pi_model'})
        self.assertEqual(set(report['cpu']), {'model', 'cores', 'threads', 'load', 'usage_percent', 'temperature_c'})
        self.assertEqual(set(report['memory']), {'total_mb', 'available_mb', 'swap_total_mb', 'swap_free_mb'})
        self.assertIsInstance(report['memory']['total_mb'], int)
        self.assertGreater(report['memory']['total_mb'], 0)
        self.assertIsInstance(report['cpu']['threads'], int)
        self.assertEqual(len(report['cpu']['load']), 3)
        self.assertTrue(all(isinstance(x, float) for x in report['cpu']['load']))
        self.assertEqual(set(report['disks']), {'devices', 'filesystems'})
        self.assertEqual(set(report['lvm']), {'pvs', 'vgs', 'lvs'})
        self.assertEqual(set(report['raid']), {'mdstat', 'arrays'})
        self.assertIsInstance(report['network'], list)
        self.assertIsInstance(report['gpus'], list)
        self.assertEqual(set(report['thermal']), {'zones', 'fans'})
        self.assertEqual(set(report['volumes']), {'docker', 'kubernetes'})
        self.assertEqual(set(report['volumes']['kubernetes']),
                         {'persistent_volumes', 'persistent_volume_claims', 'storage_classes'})

    def test_one_json_document_and_nothing_on_stderr(self):
        done = run_script()
        self.assertEqual(done.returncode, 0)
        self.assertEqual(done.stderr, '')
        self.assertEqual(done.stdout.count('\n'), 1)
        report = json.loads(done.stdout)
        self.assert_shape(report)
        self.assertTrue(report['disks']['filesystems'], 'df found no filesystem at all')

    def test_missing_tools_mean_empty_sections(self):
        env = dict(os.environ, PATH='/nonexistent')
        done = run_script(env)
        self.assertEqual(done.returncode, 0)
        report = json.loads(done.stdout)
        self.assert_shape(report)
        self.assertEqual(report['disks'], {'devices': [], 'filesystems': []})
        self.assertEqual(report['volumes']['docker'], [])


if __name__ == '__main__':
    unittest.main()
