package host

import (
	"io"
	"net"
	"syscall"
	"testing"
)

// TestQuickAck: after each read, the wrapped socket acknowledges at once,
// even in the request and answer rhythm that makes the kernel delay its
// acknowledgements.
func TestQuickAck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 1)
			for i := 0; i < 3; i++ {
				if _, err := c.Write([]byte("x")); err != nil {
					break
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					break
				}
			}
			c.Close()
		}
	}()
	quick := func(c net.Conn) int {
		rc, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var v int
		var gerr error
		if err := rc.Control(func(fd uintptr) {
			v, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK)
		}); err != nil || gerr != nil {
			t.Fatal(err, gerr)
		}
		return v
	}
	for _, wrap := range []bool{false, true} {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c := nc
		if wrap {
			c = quickAck(nc)
			if _, ok := c.(*quickAckConn); !ok {
				t.Fatalf("quickAck wrapped a TCP connection as %T", c)
			}
		}
		buf := make([]byte, 1)
		var got []int
		for i := 0; i < 3; i++ {
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
			got = append(got, quick(nc))
			if _, err := c.Write([]byte("y")); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
		switch {
		case wrap && got[2] != 1:
			t.Errorf("quick acknowledgements off after a read: %v", got)
		case !wrap && got[2] != 0:
			// The rhythm should have the kernel delay them by then.
			t.Logf("the kernel did not delay acknowledgements (%v): the test proves less", got)
		}
	}
	// Other connections pass unchanged.
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if quickAck(a) != a {
		t.Error("a pipe was wrapped")
	}
}
