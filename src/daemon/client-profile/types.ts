/**
 * What a client profile describes: one user's L2TP/IPsec connection to one server (the server's
 * address as clients reach it, the IPsec pre-shared key, the PPP login) plus the few server
 * settings a client must match (PPP authentication, MRU). Inputs of the pure generators in this
 * folder; the CLI (l2tpctl client-profile) fills them from the daemon or the command line.
 */
import type { PppAuthName } from '../config.js';

/** How Windows must treat NAT-T (AssumeUDPEncapsulationContextOnSendRule, see docs/clients/windows.md). */
export type WindowsNatRule = 0 | 1 | 2;

/** One user's connection to one L2TP/IPsec server. */
export interface ClientProfileInput {
  /** The connection's name on the device ("l2tpkit vpn.example.net"). */
  readonly name: string;
  /** The server as clients reach it: a DNS name or an IP literal. */
  readonly server: string;
  /** IKEv1 pre-shared key (RFC 2409 §5.4). */
  readonly psk: string;
  /** PPP login. */
  readonly username: string;
  /** PPP password; undefined = the device asks at connect time. */
  readonly password?: string;
  /** What the server demands, in its order (`[ppp] auth`); the first one the client supports is used. */
  readonly auth: readonly PppAuthName[];
  /** The server's MRU (`[ppp] mru`): the client's MTU/MRU should not exceed it. */
  readonly mru: number;
  /** Send all traffic through the VPN (true) or only the server's networks (false = split tunnel). */
  readonly fullTunnel: boolean;
}

/** Deterministic identifiers of a generated profile (UUIDs, reverse-DNS identifier). */
export interface ProfileIds {
  /** A UUID for the item named `purpose` ("profile", "vpn", "connection"). */
  uuid(purpose: string): string;
}

/** A generated file: its suggested name, its text, and the mode it should be written with. */
export interface ProfileFile {
  readonly fileName: string;
  readonly text: string;
  /** 0o600 when it holds secrets in the clear. */
  readonly mode: number;
}
