//go:build !amd64

package audit

func cleanPrefixLong(s string) int { return cleanPrefixWords(s) }
