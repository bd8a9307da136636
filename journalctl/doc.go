// Package journalctl decodes the JSON entry format of `journalctl -o json`
// (one object per line) into audit.Entry values.
//
// Values come as journalctl writes them: a string; null (a field over 4096
// bytes without --all: absent); an array of strings (a repeated field); or
// an array of byte numbers (non-UTF-8 or binary data), also inside a
// repeated field's array. Byte arrays decode to strings, so a field never
// changes type. Address fields (__CURSOR, __REALTIME_TIMESTAMP, ...) are not
// copied: the cursor and the receive time go to Entry.Cursor and
// Entry.Realtime.
package journalctl
