/**
 * The address plan and credentials shared by the VM suites (lns-vm, ipsec-vm): our LNS and the
 * guest on one segment (198.18.0.0/24), a LAN behind the LNS (203.0.113.0/24), the PPP pool in
 * 100.64.0.0/24. Documentation and benchmarking ranges only (the brief's network rules).
 */
export const LNS_IP = '198.18.0.1';
export const GUEST_IP = '198.18.0.10';
export const LAN_GW = '203.0.113.1';
export const LAN_HOST = '203.0.113.10';
export const POOL = '100.64.0.0/24';
export const LNS_PPP = '100.64.0.1';
export const DNS = ['203.0.113.53', '203.0.113.54'] as const;
export const USER = 'vmuser';
export const PASS = 'vm-Secret-7';
