package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// benchServe measures hub serve: the time from saving one invoice to the
// new page being served, and the dev server's memory, at the site's size.
func benchServe(hub, dir string, n int) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	content := filepath.Join(dir, "content")
	cmd := exec.Command(hub, "serve", "-content", content, "-out", filepath.Join(dir, "public"), "-keys", filepath.Join(dir, "keys"),
		"-state", filepath.Join(dir, "state"), "-addr", fmt.Sprintf("127.0.0.1:%d", port))
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		// Stopped with an interrupt, so that a profile it writes
		// (HUB_CPUPROFILE) is complete; killed if it does not stop.
		cmd.Process.Signal(os.Interrupt)
		t := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
		cmd.Wait()
		t.Stop()
	}()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		closed := false
		for sc.Scan() {
			if !closed && strings.HasPrefix(sc.Text(), "Watching") {
				close(ready)
				closed = true
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("hub serve did not start")
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	client := clientID(n / 3)
	if resp, err := c.Get(base + "/_preview/as/" + client); err != nil {
		return err
	} else {
		resp.Body.Close()
	}
	file := filepath.Join(content, "clients", client, "invoices", fmt.Sprintf("INV-%d-3.yaml", n/3))
	orig, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	defer os.WriteFile(file, orig, 0o644)
	page := fmt.Sprintf("%s/c/%s/invoices/INV-%d-3/", base, client, n/3)
	// The page reloads as a browser tab on hub serve's preview does: on
	// the "reload" event of /_preview/events, then one GET. (Polling the
	// page instead would load the two cores the build runs on.)
	events, err := c.Get(base + "/_preview/events")
	if err != nil {
		return err
	}
	defer events.Body.Close()
	reloads := make(chan struct{}, 16)
	go func() {
		sc := bufio.NewScanner(events.Body)
		for sc.Scan() {
			if sc.Text() == "event: reload" {
				reloads <- struct{}{}
			}
		}
		close(reloads)
	}()
	var times []time.Duration
	cpu0 := cpuTime(cmd.Process.Pid)
	for i := range max(serveSaves, 1) {
		mark := fmt.Sprintf("Live edit %d", i)
		for len(reloads) > 0 {
			<-reloads // left from an earlier save
		}
		os.WriteFile(file, bytes.Replace(orig, []byte("subject: "), []byte("subject: "+mark+" "), 1), 0o644)
		start := time.Now()
		for {
			select {
			case _, ok := <-reloads:
				if !ok {
					return fmt.Errorf("hub serve closed its event stream")
				}
			case <-time.After(30 * time.Second):
				return fmt.Errorf("the edit never showed up")
			}
			resp, err := c.Get(page)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(body, []byte(mark)) {
				break
			}
		}
		times = append(times, time.Since(start))
		time.Sleep(300 * time.Millisecond)
	}
	cpu := cpuTime(cmd.Process.Pid) - cpu0
	slices.Sort(times)
	fmt.Printf("\nhub serve at %d clients: saved invoice → new page served: median %s, best %s, worst %s (%d saves; includes the 40 ms debounce)\n",
		n, times[len(times)/2].Round(time.Millisecond), times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond), len(times))
	fmt.Printf("hub serve CPU (user + sys) per save: %s (the saves and the page loads between them)\n", (cpu / time.Duration(len(times))).Round(time.Millisecond))
	fmt.Printf("hub serve peak RSS: %s\n", peakRSS(cmd.Process.Pid))
	return nil
}

// cpuTime is a process's user + system CPU time so far, from
// /proc/PID/stat (0 when it cannot be read).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}
