/**
 * The FreeRADIUS and l2tpns helpers' pure parts (log parser, config renderers) on recorded text from
 * FreeRADIUS 3.2.1 (Debian 12); no root needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adaptRadiusdConf, parseFreeRadiusLog, renderClientsConf, renderUsersFile, LAB_USERS } from './freeradius.js';
import { renderL2tpnsConfig } from './l2tpns.js';

/** `freeradius -X` output for a CHAP accept (with Framed-IP-Address) and a CHAP reject, shortened. */
const DEBUG_LOG = `Ready to process requests
(1) Received Access-Request Id 218 from 198.18.78.2:40882 to 198.18.78.1:1812 length 77
(1)   User-Name = "labfix"
(1)   CHAP-Password = 0xda67df36c1d1bf5eb5570ca94eb134a2fc
(1)   NAS-IP-Address = 127.0.0.1
(1)   NAS-Port = 0
(1) # Executing section authorize from file /tmp/x/raddb/sites-enabled/default
(1)   authorize {
(1)     policy filter_username {
(1)       if (&User-Name) {
(1)       if (&User-Name)  -> TRUE
(1)   } # post-auth = noop
(1) Login OK: [labfix] (from client nas0 port 0)
(1) Sent Access-Accept Id 218 from 198.18.78.1:1812 to 198.18.78.2:40882 length 38
(1)   Service-Type = Framed-User
(1)   Framed-Protocol = PPP
(1)   Framed-IP-Address = 100.64.9.9
(1) Finished request
Waking up in 4.9 seconds.
(2) Received Access-Request Id 62 from 198.18.78.2:46825 to 198.18.78.1:1812 length 74
(2)   User-Name = "lab"
(2)   CHAP-Password = 0xea85abecf2a8d0b9849a078f35c5bb9271
(2) Login incorrect (chap: Password comparison failed: password is incorrect): [lab] (from client nas0 port 0)
(2) Delaying response for 1.000000 seconds
(2) Sending delayed response
(2) Sent Access-Reject Id 62 from 198.18.78.1:1812 to 198.18.78.2:46825 length 20
(3) Received Access-Request Id 7 from 198.18.78.2:46826 to 198.18.78.1:1812 length 74
(3)   User-Name = "lab"
(3)   User-Password = "labpass"
`;

/** Output without -X (\`-f -l stdout\`, log { auth = yes }). */
const PLAIN_LOG = `Sun Nov 22 01:27:26 2026 : Info: Ready to process requests
Sun Nov 22 01:27:26 2026 : Auth: (0) Login OK: [lab] (from client nas0 port 0)
Sun Nov 22 01:27:27 2026 : Auth: (1) Login OK: [labfix/<via Auth-Type = CHAP>] (from client nas0 port 3 cli 198.18.46.3)
Sun Nov 22 01:27:27 2026 : Auth: (2) Login incorrect (chap: Password comparison failed: password is incorrect): [lab] (from client nas0 port 0)
`;

test('parseFreeRadiusLog: debug blocks give user, method, reply and reply attributes', () => {
  const rs = parseFreeRadiusLog(DEBUG_LOG);
  assert.equal(rs.length, 3);
  assert.deepEqual(rs[0], {
    number: 1, type: 'Access-Request', from: '198.18.78.2', user: 'labfix', chap: true, pap: false, reply: 'Access-Accept',
    replyAttributes: ['Service-Type = Framed-User', 'Framed-Protocol = PPP', 'Framed-IP-Address = 100.64.9.9'],
  });
  assert.equal(rs[1]?.user, 'lab');
  assert.equal(rs[1]?.reply, 'Access-Reject');
  assert.equal(rs[1]?.chap, true);
  assert.deepEqual(rs[1]?.replyAttributes, []);
  // Still pending: no reply yet.
  assert.equal(rs[2]?.reply, undefined);
  assert.equal(rs[2]?.pap, true);
});

test('parseFreeRadiusLog: without -X the auth log lines are enough for user and verdict', () => {
  const rs = parseFreeRadiusLog(PLAIN_LOG);
  assert.deepEqual(rs.map((r) => [r.number, r.user, r.reply, r.chap]), [
    [0, 'lab', 'Access-Accept', false],
    [1, 'labfix', 'Access-Accept', true],
    [2, 'lab', 'Access-Reject', true],
  ]);
});

test('FreeRADIUS config renderers: clients, users, radiusd.conf adaptation', () => {
  const clients = renderClientsConf([{ address: '198.18.46.1', secret: 'se"cret' }]);
  assert.match(clients, /client nas0 \{\n\tipaddr = 198\.18\.46\.1\n\tsecret = "se\\"cret"/);
  assert.match(clients, /client localhost \{\n\tipaddr = 127\.0\.0\.1/);
  const users = renderUsersFile(LAB_USERS);
  assert.match(users, /^lab\tCleartext-Password := "labpass"\n\tService-Type = Framed-User,\n\tFramed-Protocol = PPP$/m);
  assert.match(users, /^labfix\tCleartext-Password := "labpass"\n(?:\t.*,\n){2}\tFramed-IP-Address = 100\.64\.9\.9$/m);
  const conf = adaptRadiusdConf('raddbdir = /etc/freeradius/3.0\nlogdir = /var/log/freeradius\nrun_dir = ${localstatedir}/run/${name}\ndb_dir = ${raddbdir}\nlog {\n\tauth = no\n}\nsecurity {\n\tuser = freerad\n\tgroup = freerad\n}\n', '/w/raddb', '/w/var');
  assert.match(conf, /^raddbdir = \/w\/raddb$/m);
  assert.match(conf, /^logdir = \/w\/var\/log$/m);
  assert.match(conf, /^run_dir = \/w\/var\/run$/m);
  assert.match(conf, /^\tauth = yes$/m);
  assert.doesNotMatch(conf, /^\s*(user|group) =/m);
});

test('renderL2tpnsConfig: documentation addresses only, private cluster interface, options', () => {
  const c = renderL2tpnsConfig({ ns: 'x', dir: '/w', bindAddress: '198.18.46.1', radius: { address: '198.18.46.2', secret: 's' }, l2tpSecret: 'tun' }, '/w');
  assert.match(c, /^set bind_address 198\.18\.46\.1$/m);
  assert.match(c, /^set iftun_address 198\.51\.100\.1$/m);
  assert.match(c, /^set primary_dns 203\.0\.113\.53$/m);
  assert.match(c, /^set cluster_interface "clu0"$/m);
  assert.match(c, /^set radius_authtypes "chap,pap"$/m);
  assert.match(c, /^set l2tp_secret "tun"$/m);
  assert.match(c, /^set log_file "\/w\/l2tpns\.log"$/m);
  assert.doesNotMatch(c, /\b10\.\d+\.\d+\.\d+/, 'none of its 10.x defaults');
});
