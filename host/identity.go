package host

import (
	"bufio"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// identity is what switching to a user takes without runuser: its IDs and
// groups, and the variables runuser sets from its account.
type identity struct {
	cred       *syscall.Credential
	name, home string
}

// passwdFile is where lookupIdentity reads accounts.
var passwdFile = "/etc/passwd"

// lookupIdentity returns the account of name as /etc/passwd has it, with
// its groups, or nil when it is not there (an account from a directory
// service, which runuser then handles as it does every other).
func lookupIdentity(name string) *identity {
	f, err := os.Open(passwdFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// name:password:UID:GID:GECOS:home:shell
		fields := strings.Split(sc.Text(), ":")
		if len(fields) != 7 || fields[0] != name {
			continue
		}
		uid, err1 := strconv.ParseUint(fields[2], 10, 32)
		gid, err2 := strconv.ParseUint(fields[3], 10, 32)
		if err1 != nil || err2 != nil {
			return nil
		}
		u := &user.User{Uid: fields[2], Gid: fields[3], Username: name, HomeDir: fields[5]}
		ids, err := u.GroupIds()
		if err != nil {
			return nil
		}
		groups := make([]uint32, 0, len(ids))
		for _, g := range ids {
			n, err := strconv.ParseUint(g, 10, 32)
			if err != nil {
				return nil
			}
			groups = append(groups, uint32(n))
		}
		return &identity{
			cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups},
			name: name, home: fields[5],
		}
	}
	return nil
}

// env is base as "runuser -u name -- command" passes it on: HOME from the
// account, and USER and LOGNAME unless the account is root's. SHELL passes
// through unchanged: runuser sets it only when it starts a shell.
func (id *identity) env(base []string) []string {
	set := map[string]string{"HOME": id.home}
	if id.cred.Uid != 0 {
		set["USER"], set["LOGNAME"] = id.name, id.name
	}
	out := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			out = append(out, kv)
		}
	}
	for _, k := range []string{"HOME", "USER", "LOGNAME"} {
		if v, ok := set[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}
