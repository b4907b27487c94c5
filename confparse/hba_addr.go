package confparse

import (
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// Addresses in pg_hba.conf are read by getaddrinfo with AI_NUMERICHOST, which
// on glibc accepts more than net/netip does ("10.1", "0x0a000001", octal
// parts) and a little less ("::" expanding to nothing), and printed back by
// getnameinfo. These functions follow glibc (inet_aton, inet_pton, inet_ntop)
// so that pgrepl reads an address exactly as the server does.

// hbaNumericHost parses s as getaddrinfo(s, AI_NUMERICHOST) does on glibc.
// ok is false where getaddrinfo fails with EAI_NONAME: PostgreSQL then takes
// s for a host name.
func hbaNumericHost(s string) (netip.Addr, bool) {
	if b, ok := hbaInetAtonExact(s); ok {
		return netip.AddrFrom4(b), true
	}
	addr, zone := s, ""
	hasZone := false
	if i := strings.IndexByte(s, '%'); i >= 0 {
		addr, zone, hasZone = s[:i], s[i+1:], true
	}
	b, ok := hbaInetPton6(addr)
	if !ok {
		return netip.Addr{}, false
	}
	a := netip.AddrFrom16(b)
	if hasZone {
		if !hbaValidScope(a, zone) {
			return netip.Addr{}, false
		}
		a = a.WithZone(zone)
	}
	return a, true
}

// hbaValidScope follows glibc's __inet6_scopeid_pton: an interface name for
// link-local addresses, or a decimal number. Interface names cannot be
// checked offline; any plausible name (IFNAMSIZ) is taken to exist.
func hbaValidScope(a netip.Addr, zone string) bool {
	b := a.As16()
	linkLocal := b[0] == 0xfe && b[1]&0xc0 == 0x80
	mcLocal := b[0] == 0xff && (b[1]&0x0f == 1 || b[1]&0x0f == 2)
	if (linkLocal || mcLocal) && zone != "" && len(zone) < 16 && !strings.ContainsAny(zone, "/ \t") {
		if zone[0] < '0' || zone[0] > '9' {
			return true
		}
	}
	if zone == "" || zone[0] < '0' || zone[0] > '9' {
		return false
	}
	n, err := strconv.ParseUint(zone, 10, 64)
	return err == nil && n <= 0xffffffff
}

// hbaStrtoulC reads an unsigned number the way strtoul(s, &end, 0) does
// after a leading digit: 0x hex, 0 octal, else decimal. It returns the value,
// the bytes used and whether it overflowed 64 bits.
func hbaStrtoulC(s string) (uint64, int, bool) {
	base, i := uint64(10), 0
	if len(s) > 1 && s[0] == '0' {
		if (s[1] == 'x' || s[1] == 'X') && len(s) > 2 && hbaHexValue(s[2]) >= 0 {
			base, i = 16, 2
		} else {
			base = 8
		}
	}
	var v uint64
	over := false
	for ; i < len(s); i++ {
		d := hbaHexValue(s[i])
		if d < 0 || uint64(d) >= base {
			break
		}
		hi, lo := bits.Mul64(v, base)
		lo, carry := bits.Add64(lo, uint64(d), 0)
		if hi != 0 || carry != 0 {
			over = true
		}
		v = lo
	}
	return v, i, over
}

func hbaHexValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// hbaInetAtonExact is glibc's __inet_aton_exact: "a.b.c.d", "a.b.c" (c of
// 16 bits), "a.b" (b of 24 bits) or "a" (32 bits), each part decimal, octal
// or hex, and nothing after it.
func hbaInetAtonExact(s string) ([4]byte, bool) {
	var parts [3]uint64
	n := 0
	for {
		if s == "" || s[0] < '0' || s[0] > '9' {
			return [4]byte{}, false
		}
		v, used, over := hbaStrtoulC(s)
		if over || v > 0xffffffff {
			return [4]byte{}, false
		}
		s = s[used:]
		if s != "" && s[0] == '.' {
			if n > 2 || v > 0xff {
				return [4]byte{}, false
			}
			parts[n] = v
			n++
			s = s[1:]
			continue
		}
		if s != "" {
			return [4]byte{}, false
		}
		max := [4]uint64{0xffffffff, 0xffffff, 0xffff, 0xff}[n]
		if v > max {
			return [4]byte{}, false
		}
		w := uint32(v)
		for k := 0; k < n; k++ {
			w |= uint32(parts[k]) << (24 - 8*k)
		}
		return [4]byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w)}, true
	}
}

// hbaInetPton4 is the strict dotted quad of inet_pton: four decimal parts,
// no leading zeros.
func hbaInetPton4(s string) ([4]byte, bool) {
	var out [4]byte
	octets := 0
	sawDigit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if sawDigit && out[octets-1] == 0 {
				return out, false
			}
			if !sawDigit {
				octets++
				if octets > 4 {
					return out, false
				}
				sawDigit = true
			}
			v := uint(out[octets-1])*10 + uint(c-'0')
			if v > 255 {
				return out, false
			}
			out[octets-1] = byte(v)
		case c == '.' && sawDigit:
			if octets == 4 {
				return out, false
			}
			sawDigit = false
		default:
			return out, false
		}
	}
	return out, octets == 4 && sawDigit
}

// hbaInetPton6 is glibc's inet_pton for AF_INET6.
func hbaInetPton6(s string) ([16]byte, bool) {
	var tmp [16]byte
	if s == "" {
		return tmp, false
	}
	i := 0
	if s[0] == ':' {
		if len(s) < 2 || s[1] != ':' {
			return tmp, false
		}
		i = 1
	}
	tp, colonp := 0, -1
	curtok := i
	xdigits, val := 0, 0
	for i < len(s) {
		c := s[i]
		i++
		if d := hbaHexValue(c); d >= 0 {
			if xdigits == 4 {
				return tmp, false
			}
			val = val<<4 | d
			xdigits++
			continue
		}
		if c == ':' {
			curtok = i
			if xdigits == 0 {
				if colonp >= 0 {
					return tmp, false
				}
				colonp = tp
				continue
			} else if i == len(s) {
				return tmp, false
			}
			if tp+2 > 16 {
				return tmp, false
			}
			tmp[tp], tmp[tp+1] = byte(val>>8), byte(val)
			tp += 2
			xdigits, val = 0, 0
			continue
		}
		if c == '.' && tp+4 <= 16 {
			if v4, ok := hbaInetPton4(s[curtok:]); ok {
				copy(tmp[tp:], v4[:])
				tp += 4
				xdigits = 0
				break
			}
		}
		return tmp, false
	}
	if xdigits > 0 {
		if tp+2 > 16 {
			return tmp, false
		}
		tmp[tp], tmp[tp+1] = byte(val>>8), byte(val)
		tp += 2
	}
	if colonp >= 0 {
		if tp == 16 {
			return tmp, false
		}
		n := tp - colonp
		var out [16]byte
		copy(out[:colonp], tmp[:colonp])
		copy(out[16-n:], tmp[colonp:tp])
		return out, true
	}
	return tmp, tp == 16
}

// hbaCIDRMask is pg_sockaddr_cidr_mask: the mask of a "/bits" suffix, read
// with strtol (so " 8", "+8" and "-0" count).
func hbaCIDRMask(numbits string, v4 bool) (netip.Addr, bool) {
	n, used := hbaStrtol(numbits)
	limit := int64(128)
	if v4 {
		limit = 32
	}
	if used == 0 || used != len(numbits) || n < 0 || n > limit {
		return netip.Addr{}, false
	}
	return hbaMaskOf(int(n), v4), true
}

func hbaMaskOf(n int, v4 bool) netip.Addr {
	var b [16]byte
	size := 16
	if v4 {
		size = 4
	}
	for i := 0; i < size; i++ {
		switch {
		case n >= 8:
			b[i] = 0xff
		case n > 0:
			b[i] = byte(0xff << (8 - n))
		}
		n -= 8
	}
	if v4 {
		return netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]})
	}
	return netip.AddrFrom16(b)
}

// hbaMaskBits returns the prefix length of a contiguous mask, or -1.
func hbaMaskBits(m netip.Addr) int {
	b := m.AsSlice()
	n := 0
	i := 0
	for ; i < len(b) && b[i] == 0xff; i++ {
		n += 8
	}
	if i < len(b) {
		l := bits.LeadingZeros8(^b[i])
		if b[i] != byte(0xff<<(8-l)) {
			return -1
		}
		n += l
		for i++; i < len(b); i++ {
			if b[i] != 0 {
				return -1
			}
		}
	}
	return n
}

// hbaFormatAddr prints a like getnameinfo(NI_NUMERICHOST) followed by
// PostgreSQL's clean_ipv6_addr (no zone): glibc's inet_ntop.
func hbaFormatAddr(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	b := a.As16()
	var w [8]int
	for i := range w {
		w[i] = int(b[2*i])<<8 | int(b[2*i+1])
	}
	bestBase, bestLen, curBase, curLen := -1, 0, -1, 0
	for i := 0; i < 8; i++ {
		if w[i] == 0 {
			if curBase < 0 {
				curBase, curLen = i, 1
			} else {
				curLen++
			}
			continue
		}
		if curBase >= 0 {
			if bestBase < 0 || curLen > bestLen {
				bestBase, bestLen = curBase, curLen
			}
			curBase = -1
		}
	}
	if curBase >= 0 && (bestBase < 0 || curLen > bestLen) {
		bestBase, bestLen = curBase, curLen
	}
	if bestBase >= 0 && bestLen < 2 {
		bestBase = -1
	}
	var sb strings.Builder
	for i := 0; i < 8; i++ {
		if bestBase >= 0 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				sb.WriteByte(':')
			}
			continue
		}
		if i != 0 {
			sb.WriteByte(':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 5 && w[5] == 0xffff)) {
			sb.WriteString(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}).String())
			return sb.String()
		}
		sb.WriteString(strconv.FormatInt(int64(w[i]), 16))
	}
	if bestBase >= 0 && bestBase+bestLen == 8 {
		sb.WriteByte(':')
	}
	return sb.String()
}
