/**
 * The package version (`l2tpd --version`, `l2tpctl --version`, the banner, `show status`); a test
 * keeps it equal to package.json's. Its own module so l2tpctl does not load the daemon for it.
 */
export const VERSION = '0.1.0';
