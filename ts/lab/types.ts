export interface LabHost {
  hostname: string;
  address: string;
  mac: string;
  netns: string;
  running: boolean;
}

export interface LabOptions {
  name: string;
  /** Directory the lab keeps its state, keys, overlays and logs in (made 0700). */
  stateDir: string;
  onProgress?: (m: string) => void;
}

export interface LabInfo {
  name: string;
  bridge: string;
  /** e.g. 10.213.42.0/24 */
  subnet: string;
  gateway: string;
  broadcast: string;
  /** Path of the private key that logs in as root on every host. */
  adminKey: string;
  /** Path of the known_hosts file with every host's key (by address and hostname). */
  knownHosts: string;
  /** The login user of every host: in group sudo, sudo asks for the password. */
  user: string;
  /** Lab-only throwaway password of `user`. */
  userPassword: string;
  hosts: LabHost[];
}
