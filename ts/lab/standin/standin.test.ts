// The snap/MicroK8s test double on a 4-host lab: what the Ansible roles for MicroK8s will see.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { labDown, labUp, sshArgs } from '../index.js';
import type { LabHost, LabInfo } from '../index.js';
import { testLabName } from '../../test-support/lab.js';

const isRoot = process.getuid?.() === 0;
const M = '/snap/bin/microk8s';
const K = '/snap/bin/microk8s.kubectl';
const NOT_RUNNING = 'microk8s is not running. Use microk8s inspect for a deeper inspection.';
const REFUSED = 'The connection to the server 127.0.0.1:16443 was refused - did you specify the right host or port?';

interface HaStatus {
  microk8s: { running: boolean };
  'high-availability': { enabled: boolean; nodes: { address: string; role: string }[] | null };
  addons?: { name: string; repository: string; status: string }[];
}

describe.skipIf(!isRoot)('MicroK8s test double on a 4-host lab (skipped unless root: the lab makes netns, bridges, mounts)', () => {
  const name = testLabName('sdt');
  let stateDir = '';
  let info: LabInfo;
  let n1: LabHost, n2: LabHost, n3: LabHost, n4: LabHost;
  const sh = (host: LabHost, command: string) =>
    execa('ssh', [...sshArgs(stateDir, host.address), command], { reject: false, timeout: 120_000 });
  const ok = async (host: LabHost, command: string) => {
    const r = await sh(host, command);
    expect(r.exitCode, `${host.hostname}: ${command}\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const yamlStatus = async (host: LabHost) => parse(await ok(host, `${M} status --format yaml`)) as HaStatus;
  const token = async (ttl?: number) =>
    (await ok(n1, `${M} add-node --format token-check${ttl === undefined ? '' : ` --token-ttl ${ttl}`}`)).trim();
  const joinNode = (host: LabHost, connection: string, worker = false) =>
    sh(host, `${M} join ${n1.address}:25000/${connection}${worker ? ' --worker' : ''}`);

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'mko-standin-test-'));
    info = await labUp({ name, stateDir, nodes: 4 });
    [n1, n2, n3, n4] = info.hosts as [LabHost, LabHost, LabHost, LabHost];
  }, 600_000);

  afterAll(async () => {
    if (stateDir) {
      await labDown({ name, stateDir });
      await rm(stateDir, { recursive: true, force: true });
    }
    const netns = (await execa('ip', ['netns', 'list'])).stdout.split('\n');
    expect(netns.filter((l) => l.startsWith(`mko-${name}-`))).toEqual([]);
    expect((await stat('/dev/null')).mode & 0o777).toBe(0o666);
  }, 300_000);

  it('has a snapd that is installed and active, and no MicroK8s before `snap install`', async () => {
    expect((await ok(n1, 'systemctl is-active snapd.service')).trim()).toBe('active');
    expect(await ok(n1, 'snap version')).toContain('mko-lab-test-double');
    const list = await sh(n1, 'snap list microk8s');
    expect(list.exitCode).toBe(1);
    expect(list.stderr).toContain('error: no matching snaps installed');
    expect((await sh(n1, `test -e ${M}`)).exitCode).toBe(1);
  });

  it('installs microk8s like snapd: classic only, the channel, /snap/bin, the daemons', async () => {
    const noClassic = await sh(n1, 'snap install microk8s --channel=1.31/stable');
    expect(noClassic.exitCode).toBe(1);
    expect(noClassic.stderr).toMatch(/^error: This revision of snap "microk8s" was published using classic confinement/);
    const installs = await Promise.all(info.hosts.map((h) => sh(h, 'snap install microk8s --classic --channel=1.31/stable')));
    for (const r of installs) expect(r.stdout.trim()).toBe('microk8s (1.31/stable) v1.31.9 from Canonical** installed');
    expect(await ok(n1, 'snap list microk8s')).toMatch(
      /^Name\s+Version\s+Rev\s+Tracking\s+Publisher\s+Notes\nmicrok8s\s+v1\.31\.9\s+\d+\s+1\.31\/stable\s+canonical\*\*\s+classic$/,
    );
    expect((await ok(n1, 'readlink /snap/bin/microk8s /snap/bin/microk8s.kubectl')).trim().split('\n')).toEqual([
      '/usr/bin/snap',
      '/usr/bin/snap',
    ]);
    expect((await ok(n1, 'getent group microk8s')).startsWith('microk8s:')).toBe(true);
    expect((await ok(n1, 'systemctl is-active snap.microk8s.daemon-cluster-agent snap.microk8s.daemon-kubelite')).trim())
      .toBe('active\nactive');
    expect((await sh(n1, 'snap install microk8s --classic')).stdout).toContain(`snap "microk8s" is already installed`);
  });

  it('reports a single node in pretty, yaml and short formats', async () => {
    const pretty = await ok(n1, `${M} status --wait-ready --timeout 60`);
    expect(pretty.split('\n').slice(0, 7)).toEqual([
      'microk8s is running',
      'high-availability: no',
      '  datastore master nodes: 127.0.0.1:19001',
      '  datastore standby nodes: none',
      'addons:',
      '  enabled:',
      '    dns                  # (core) CoreDNS',
    ]);
    expect(pretty).toContain('  disabled:\n    cert-manager         # (core) Cloud native certificate management');
    const status = await yamlStatus(n1);
    expect(status.microk8s.running).toBe(true);
    expect(status['high-availability']).toEqual({ enabled: true, nodes: [{ address: '127.0.0.1:19001', role: 'voter' }] });
    expect(status.addons?.find((a) => a.name === 'dns')).toMatchObject({ repository: 'core', status: 'enabled' });
    expect(status.addons?.find((a) => a.name === 'rbac')).toMatchObject({ status: 'disabled' });
    const short = await ok(n1, `${M} status --format short`);
    expect(short).toMatch(/^microk8s is running\naddons:\ncore\/dns: enabled\n/);
    expect(await ok(n1, `${K} get nodes`)).toMatch(new RegExp(String.raw`^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\n${name}-n1\s+Ready\s+<none>\s+\S+\s+v1\.31\.9$`));
  });

  it('holds and unholds refreshes', async () => {
    expect((await ok(n4, 'snap refresh --hold=forever microk8s')).trim()).toBe('General refreshes of "microk8s" held indefinitely');
    expect(await ok(n4, 'snap list microk8s')).toMatch(/classic,held$/);
    expect(await ok(n4, 'snap info microk8s')).toMatch(/tracking: +1\.31\/stable\n(.*\n)*hold: +forever/);
    expect((await ok(n4, 'snap refresh --unhold microk8s')).trim()).toBe('Removed general refresh hold of "microk8s"');
    expect(await ok(n4, 'snap list microk8s')).toMatch(/classic$/);
  });

  it('makes join tokens in add-node JSON', async () => {
    const out = JSON.parse(await ok(n1, `${M} add-node --format json`)) as { token: string; urls: string[] };
    expect(out.token).toMatch(/^[0-9a-f]{32}\/[0-9a-f]{12}$/);
    expect(out.urls).toEqual([`${n1.address}:25000/${out.token}`]);
    expect(await ok(n1, `${M} add-node`)).toContain('From the node you wish to join to this cluster, run the following:');
  });

  it("refuses a joiner whose hostname the primary cannot resolve, and the failed join uses the token up", async () => {
    const t = await token();
    const refused = await joinNode(n2, t);
    expect(refused.exitCode).toBe(6);
    expect(refused.stdout).toBe(
      `Contacting cluster at ${n1.address}\nConnection failed. the hostname (${name}-n2) of the joining node does not ` +
        `resolve to the IP "${n2.address}". Refusing join (400).`,
    );
    const again = await joinNode(n2, t);
    expect(again.exitCode).toBe(6);
    expect(again.stdout).toContain('Connection failed. invalid token (500).');
  });

  it('joins once /etc/hosts is right; a token is single use and a TTL token expires', async () => {
    const hosts = info.hosts.map((h) => `${h.address}\\t${h.hostname}`).join('\\n');
    await Promise.all(info.hosts.map((h) => ok(h, `printf '${hosts}\\n' >> /etc/hosts`)));
    const t = await token();
    const joined = await joinNode(n2, t);
    expect(joined.exitCode, joined.stdout + joined.stderr).toBe(0);
    expect(joined.stdout).toMatch(/^Contacting cluster at \S+\nWaiting for this node to finish joining the cluster\..*\nSuccessfully joined the cluster\.$/);
    const reused = await joinNode(n3, t);
    expect(reused.exitCode).toBe(6);
    expect(reused.stdout).toContain('invalid token (500)');
    const shortLived = await token(1);
    await sleep(2_000);
    const expired = await joinNode(n3, shortLived);
    expect(expired.stdout).toContain('invalid token (500)');
    expect((await joinNode(n3, await token())).exitCode).toBe(0);
    const already = await joinNode(n2, await token());
    expect(already.stdout).toContain(`Connection failed. the joining node (${n2.address}) is already known to dqlite (504).`);
  });

  it('is highly available with 3 voters, on every member', async () => {
    const voters = [n1, n2, n3].map((h) => ({ address: `${h.address}:19001`, role: 'voter' }));
    for (const host of [n1, n2, n3]) {
      const status = await yamlStatus(host);
      expect(status['high-availability'].nodes).toEqual(voters);
      const pretty = await ok(host, `${M} status`);
      expect(pretty).toContain(`high-availability: yes\n  datastore master nodes: ${voters.map((v) => v.address).join(' ')}\n`);
    }
  });

  it('joins a worker: not in the datastore, acting as a node, listed by kubectl', async () => {
    const joined = await joinNode(n4, await token(), true);
    expect(joined.exitCode).toBe(0);
    expect(joined.stdout).toContain('The node has joined the cluster and will appear in the nodes list in a few seconds.');
    const status = await sh(n4, `${M} status`);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toBe('This MicroK8s deployment is acting as a node in a cluster.\nPlease use the control plane node.');
    expect((await sh(n4, `${K} get nodes`)).stdout).toBe(
      'This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s kubectl on the master.',
    );
    const ha = (await yamlStatus(n1))['high-availability'].nodes ?? [];
    expect(ha.map((n) => n.address)).not.toContain(`${n4.address}:19001`);
    expect((await ok(n1, `${K} wait --for=condition=Ready node/${name}-n4 --timeout=30s`)).trim()).toBe(`node/${name}-n4 condition met`);
    expect(await ok(n1, `${K} get nodes`)).toMatch(new RegExp(String.raw`${name}-n4\s+Ready\s`));
  });

  it('cordons, drains and uncordons a node', async () => {
    await ok(n1, `${K} create deployment web --image=nginx --replicas=4`);
    expect((await ok(n1, `${K} cordon ${name}-n4`)).trim()).toBe(`node/${name}-n4 cordoned`);
    expect(await ok(n1, `${K} get nodes`)).toMatch(new RegExp(String.raw`${name}-n4\s+Ready,SchedulingDisabled\s`));
    const refused = await sh(n1, `${K} drain ${name}-n4`);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)');
    const drained = await ok(n1, `${K} drain ${name}-n4 --ignore-daemonsets --delete-emptydir-data --timeout=60s`);
    expect(drained).toMatch(new RegExp(String.raw`^node\/${name}-n4 already cordoned\n(evicting pod \S+\/\S+\n)+(pod\/\S+ evicted\n)+node\/${name}-n4 drained$`));
    expect(drained).toMatch(/^evicting pod default\/web-\S+$/m);
    const pods = JSON.parse(await ok(n1, `${K} get pods -A -o json`)) as { items: { spec: { nodeName?: string }; metadata: { name: string } }[] };
    expect(pods.items.filter((p) => p.spec.nodeName === `${name}-n4`).map((p) => p.metadata.name)).toEqual([
      expect.stringMatching(/^calico-node-/),
    ]);
    expect((await ok(n1, `${K} uncordon ${name}-n4`)).trim()).toBe(`node/${name}-n4 uncordoned`);
    expect(await ok(n1, `${K} get nodes`)).toMatch(new RegExp(String.raw`${name}-n4\s+Ready\s`));
    expect((await ok(n1, `${K} scale deployment/web --replicas=1`)).trim()).toBe('deployment.apps/web scaled');
    expect(JSON.parse(await ok(n1, `${K} get pv,pvc,storageclass -A -o json`))).toEqual({
      apiVersion: 'v1',
      items: [],
      kind: 'List',
      metadata: { resourceVersion: '' },
    });
  });

  it("$SNAP/kubectl with the kubelet's kubeconfig works on a worker as that node; pods carry labels and owners", async () => {
    const KC = '/snap/microk8s/current/kubectl --kubeconfig /var/snap/microk8s/current/credentials/kubelet.config';
    const bare = await sh(n4, '/snap/microk8s/current/kubectl get pods');
    expect([bare.exitCode, bare.stderr.trim()]).toEqual([1, 'The connection to the server localhost:8080 was refused - did you specify the right host or port?']);
    expect((await ok(n1, `${K} run keep -n kube-system --image=busybox --labels=mko.io/prevent-sleep=true --overrides='{"spec":{"nodeName":"${name}-n4"}}'`)).trim()).toBe('pod/keep created');
    type Pods = { items: { metadata: { name: string; namespace: string; labels: Record<string, string>; ownerReferences?: { kind: string }[] }; spec: { nodeName: string } }[] };
    const labelled = JSON.parse(await ok(n4, `${KC} get pods -A -l mko.io/prevent-sleep=true -o json`)) as Pods;
    expect(labelled.items.map((p) => [p.metadata.namespace, p.metadata.name, p.spec.nodeName, p.metadata.ownerReferences ?? null])).toEqual([['kube-system', 'keep', `${name}-n4`, null]]);
    const calico = JSON.parse(await ok(n4, `${KC} get pods -A -l k8s-app=calico-node --field-selector spec.nodeName=${name}-n4 -o json`)) as Pods;
    expect(calico.items.map((p) => [p.metadata.name.startsWith('calico-node-'), p.metadata.ownerReferences?.[0]?.kind])).toEqual([[true, 'DaemonSet']]);
    // The node may cordon itself and no other (NodeRestriction).
    expect((await ok(n4, `${KC} cordon ${name}-n4`)).trim()).toBe(`node/${name}-n4 cordoned`);
    const other = await sh(n4, `${KC} cordon ${name}-n1`);
    expect([other.exitCode, other.stderr.trim()]).toEqual([1, `Error from server (Forbidden): nodes "${name}-n1" is forbidden: node "${name}-n4" is not allowed to modify node "${name}-n1"`]);
    const drain = await sh(n1, `${K} drain ${name}-n4 --ignore-daemonsets`);
    expect(drain.exitCode).toBe(1);
    expect(drain.stderr).toContain('cannot delete Pods that declare no controller (use --force to override): kube-system/keep');
    expect((await ok(n4, `${KC} uncordon ${name}-n4`)).trim()).toBe(`node/${name}-n4 uncordoned`);
    expect((await ok(n1, `${K} delete pod keep -n kube-system`)).trim()).toBe('pod "keep" deleted');
  });

  it('refreshes a node to the next channel; kubectl shows its new version', async () => {
    expect((await ok(n4, 'snap refresh microk8s --channel=1.32/stable')).trim()).toBe(
      'microk8s (1.32/stable) v1.32.5 from Canonical** refreshed',
    );
    expect(await ok(n4, 'snap list microk8s')).toMatch(/v1\.32\.5\s+\d+\s+1\.32\/stable/);
    await ok(n1, `${K} wait --for=condition=Ready node/${name}-n4 --timeout=30s`);
    expect(await ok(n1, `${K} get nodes`)).toMatch(new RegExp(String.raw`^${name}-n4\s+Ready\s+<none>\s+\S+\s+v1\.32\.5$`, 'm'));
  });

  it('loses quorum when 2 of 3 voters stop, and gets it back when they start', async () => {
    await Promise.all([n2, n3].map((h) => ok(h, `${M} stop`)));
    expect((await ok(n2, `${M} status`)).trim()).toBe('microk8s is not running, try microk8s start');
    const status = await sh(n1, `${M} status`);
    expect(status.stdout.trim()).toBe(NOT_RUNNING);
    expect((await yamlStatus(n1)).microk8s.running).toBe(false);
    const kubectl = await sh(n1, `${K} get nodes`);
    expect(kubectl.exitCode).toBe(1);
    expect(kubectl.stderr.trim()).toBe(REFUSED);
    await Promise.all([n2, n3].map((h) => ok(h, `${M} start`)));
    expect(await ok(n1, `${M} status --wait-ready --timeout 60`)).toMatch(/^microk8s is running\nhigh-availability: yes\n/);
    expect(await ok(n1, `${K} get nodes`)).toMatch(new RegExp(String.raw`${name}-n3\s+Ready\s`));
  });

  it('removes a node only after it left, then resets the single node it became', async () => {
    const early = await sh(n1, `${M} remove-node ${name}-n3`);
    expect(early.exitCode).toBe(1);
    expect(early.stdout).toContain(`Removal failed. Node ${name}-n3 is registered with dqlite. Please, run first 'microk8s leave'`);
    expect(await ok(n3, `${M} leave`)).toMatch(/^Generating new cluster certificates\.\nWaiting for node to start\./);
    expect(await ok(n3, `${M} status`)).toContain('  datastore master nodes: 127.0.0.1:19001\n');
    const pretty = await ok(n1, `${M} status`);
    expect(pretty).toContain(`high-availability: no\n  datastore master nodes: ${n1.address}:19001 ${n2.address}:19001\n`);
    expect(await ok(n1, `${K} get nodes`)).toMatch(new RegExp(String.raw`${name}-n3\s+NotReady\s`));
    expect((await ok(n1, `${M} remove-node ${name}-n3`)).trim()).toBe('');
    expect(await ok(n1, `${K} get nodes`)).not.toContain(`${name}-n3`);

    expect((await ok(n1, `${M} reset`)).trim()).toBe(
      'This is a multi-node MicroK8s deployment. Reset is applicable for single node clusters.\n' +
        'Please remove all joined nodes before calling reset.',
    );
    await ok(n3, `${M} enable dns`);
    expect(await ok(n3, `${M} status --format short`)).toContain('core/dns: enabled');
    const reset = await ok(n3, `${M} reset`);
    expect(reset).toContain('Disabling all addons\n');
    expect(reset).toContain('Restarting cluster\n');
    const after = await ok(n3, `${M} status --wait-ready --timeout 60 --format short`);
    expect(after).toContain('core/dns: disabled');
    expect(after).toContain('core/ha-cluster: enabled');
  });

  it('backs up the datastore and removes the snap', async () => {
    expect(await ok(n1, `${M} dbctl backup -o /root/backup`)).toBe('Backing up the datastore\nThe backup is: /root/backup.tar.gz');
    expect((await ok(n1, 'tar tzf /root/backup.tar.gz')).trim()).toBe('backup/mko-standin-datastore.json');
    expect((await ok(n3, 'snap remove microk8s --purge')).trim()).toBe('microk8s removed');
    expect((await sh(n3, 'snap list microk8s')).exitCode).toBe(1);
    expect((await sh(n3, `test -e ${M} || test -e /var/snap/microk8s`)).exitCode).toBe(1);
    expect((await sh(n3, 'systemctl list-unit-files "snap.microk8s.*" --no-legend')).stdout.trim()).toBe('');
  });
});
