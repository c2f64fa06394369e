#!/usr/bin/env node
// l2tpctl: control a running l2tpd over its unix socket.
import '../dist/src/daemon/l2tpctl-main.js';
