/**
 * The generated credentials while the daemon runs: the PSK the IKE responder uses for clients
 * without their own key, the generated login, and the users file — shown, rotated and extended
 * through `l2tpctl credentials` / `l2tpctl user add`. Every change is written first (state file,
 * users file) and takes effect after: a new PSK for the next Main Mode (running SAs keep theirs
 * until they end), a new password or user after the users table is reloaded.
 */
import { err, ok, type Result, type RandomSource } from '../../base/index.js';
import { credentialsPath, writeCredentials, type StoredCredentials } from './state-file.js';
import { errorCode, generatePassword, generatePskToken } from './secrets.js';
import { appendUser, checkUsername, setPassword } from './users-file.js';
import type { GeneratedCredentials } from './prepare.js';

/** What `l2tpctl credentials show|rotate` prints (secrets included: root or control_group only). */
export interface CredentialsView {
  /** The generated PSK (absent when the config sets the keys). */
  readonly psk?: string;
  /** The generated login (absent with a configured users file). */
  readonly login?: { readonly username: string; readonly password: string };
  /** Where the PSK is kept (absent = memory only). */
  readonly stateFile?: string;
  /** The users file `l2tpctl user add` writes (absent = none). */
  readonly usersFile?: string;
  /** What the change means for clients (rotate only). */
  readonly notes?: readonly string[];
}

/** Which generated secret to replace. */
export type RotateWhat = 'psk' | 'password' | 'all';

/** Options of the store. */
export interface CredentialStoreOptions {
  readonly credentials: GeneratedCredentials;
  readonly usersFile: string | undefined;
  readonly random: RandomSource;
  /** Re-read the users file into the running table; false when it is broken (the old table stays). */
  readonly reloadUsers: () => Promise<boolean>;
}

/** Generated credentials of a running daemon. */
export class CredentialStore {
  private psk_: string | undefined;
  private login: { username: string; password: string } | undefined;

  constructor(private readonly o: CredentialStoreOptions) {
    this.psk_ = o.credentials.psk;
    this.login = o.credentials.login === undefined ? undefined : { ...o.credentials.login };
  }

  /** The PSK for clients without a `[[ipsec.peer]]` key when it is generated (read on every Main Mode). */
  get psk(): string | undefined {
    return this.psk_;
  }

  /** The current view. */
  view(): CredentialsView {
    const dir = this.o.credentials.stateDir;
    return {
      ...(this.psk_ !== undefined ? { psk: this.psk_ } : {}),
      ...(this.login !== undefined ? { login: { ...this.login } } : {}),
      ...(dir !== undefined ? { stateFile: credentialsPath(dir) } : {}),
      ...(this.o.usersFile !== undefined ? { usersFile: this.o.usersFile } : {}),
    };
  }

  private stored(psk: string | undefined): StoredCredentials {
    return { ...(psk !== undefined ? { psk } : {}), ...(this.login !== undefined ? { generatedUser: this.login.username } : {}) };
  }

  /** Replace the generated PSK and/or the generated login's password, written before they take effect. */
  async rotate(what: RotateWhat): Promise<Result<CredentialsView, string>> {
    const notes: string[] = [];
    if (what !== 'password') {
      if (this.psk_ === undefined) {
        if (what === 'psk') return err('the pre-shared key is not generated (it is set in the config file: change it there)');
      } else {
        const psk = generatePskToken(this.o.random);
        const dir = this.o.credentials.stateDir;
        if (dir !== undefined) {
          try {
            await writeCredentials(dir, this.stored(psk));
          } catch (e) {
            return err(`cannot write ${credentialsPath(dir)}: ${errorCode(e)}`);
          }
        } else notes.push('no state directory: the new key is lost at the next start');
        this.psk_ = psk;
        notes.push('new IKE negotiations need the new pre-shared key; running IPsec SAs keep theirs until they end');
      }
    }
    if (what !== 'psk') {
      const login = this.login;
      const path = this.o.usersFile;
      if (login === undefined || path === undefined) {
        if (what === 'password') return err('there is no generated login (the users file is configured: edit it, or use l2tpctl user add)');
      } else {
        const password = generatePassword(this.o.random);
        const w = await setPassword(path, login.username, password);
        if (!w.ok) return err(w.error);
        login.password = password;
        if (!(await this.o.reloadUsers())) return err(`${path} was written but does not load; the previous users stay active`);
        notes.push(`${login.username} needs the new password at the next login; sessions up now stay up`);
      }
    }
    return ok({ ...this.view(), notes });
  }

  /** Add a user to the users file (password generated when not given) and reload the table. */
  async addUser(username: string, password: string | undefined): Promise<Result<{ readonly username: string; readonly password: string; readonly usersFile: string }, string>> {
    const path = this.o.usersFile;
    if (path === undefined) return err('there is no users file to write (no state directory: set [users] file or [daemon] state_dir)');
    const bad = checkUsername(username);
    if (bad !== undefined) return err(bad);
    const pw = password ?? generatePassword(this.o.random);
    const w = await appendUser(path, { username, password: pw });
    if (!w.ok) return err(w.error);
    if (!(await this.o.reloadUsers())) return err(`${path} was written but does not load; the previous users stay active`);
    return ok({ username, password: pw, usersFile: path });
  }
}
