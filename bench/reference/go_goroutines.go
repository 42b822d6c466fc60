// go_goroutines: Go's standard library net/http, a goroutine per request, at most C of them
// running at once (a buffered channel as the semaphore), the way a Go service bounds its
// fan-out. Go's runtime parks a goroutine that waits on a socket in its netpoller (epoll) and
// runs the ready ones on GOMAXPROCS threads (the CPUs it may use), so C waits overlap like an
// event loop's while the code reads like a thread per request.
//
// It speaks the batch protocol (docs/reference_protocol.md): one JSON object per line in, one
// per line out, until stdin closes. Each batch gets a Transport of its own, with at most C
// connections and C idle ones, closed when the batch ends. Standard library only: built by the
// harness with Debian's golang-go, offline. Over https (the batch's cacert) the Transport
// verifies against that authority and keeps no session cache, so every connection pays a full
// handshake, as net/http does by default.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

type batch struct {
	Protocol        int      `json:"protocol"`
	URLs            []string `json:"urls"`
	Concurrency     int      `json:"concurrency"`
	KeepAlive       *bool    `json:"keep_alive"`
	TimeoutS        float64  `json:"timeout_s"`
	ConnectTimeoutS float64  `json:"connect_timeout_s"`
	CACert          string   `json:"cacert"`
}

type answer struct {
	Protocol    int     `json:"protocol"`
	WallS       float64 `json:"wall_s"`
	CPUS        float64 `json:"cpu_s"`
	VolCsw      int64   `json:"vol_csw"`
	InvolCsw    int64   `json:"invol_csw"`
	RSSStartKiB int64   `json:"rss_start_kib"`
	MaxRSSKiB   int64   `json:"max_rss_kib"`
	Threads     int     `json:"threads"`
	Outcomes    [][]any `json:"outcomes"`
}

// Seconds on the monotonic clock since the program started: the protocol uses only differences.
var base = time.Now()

func now() float64 { return time.Since(base).Seconds() }

// One fault, one kind, as the C++ models report it (docs/models.md).
func classify(err error, gotResponse bool) string {
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return "connect"
		}
		return "timeout"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return "connect"
	}
	// A failed handshake or a certificate it does not trust: no request was sent.
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var alert tls.RecordHeaderError
	if !gotResponse && (errors.As(err, &unknown) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &alert) || strings.Contains(err.Error(), "tls: ")) {
		return "connect"
	}
	var uerr *url.Error
	if errors.As(err, &uerr) && (strings.Contains(uerr.Err.Error(), "unsupported protocol") ||
		strings.Contains(uerr.Err.Error(), "no Host") || strings.Contains(uerr.Err.Error(), "invalid port")) {
		return "connect"
	}
	if gotResponse {
		return "bad_response"
	}
	msg := err.Error()
	if strings.Contains(msg, "malformed HTTP") || strings.Contains(msg, "bad Content-Length") ||
		strings.Contains(msg, "invalid") || strings.Contains(msg, "unsupported transfer encoding") {
		return "bad_response"
	}
	return "reset"
}

func fetchOne(client *http.Client, raw string, keepAlive bool, tlsErr error) []any {
	start := now()
	status, bytes, kind, detail := 0, int64(0), "none", ""
	req, err := http.NewRequest(http.MethodGet, raw, nil)
	if err == nil && req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		err = fmt.Errorf("unsupported scheme in %q (only http and https)", raw)
	}
	if err == nil && req.URL.Scheme == "https" && tlsErr != nil {
		err = tlsErr
	}
	if err != nil {
		kind, detail = "connect", err.Error()
	} else {
		req.Close = !keepAlive
		resp, err := client.Do(req)
		if err != nil {
			kind, detail = classify(err, false), err.Error()
		} else {
			status = resp.StatusCode
			n, rerr := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			bytes = n
			if rerr != nil {
				kind, detail, status, bytes = classify(rerr, true), rerr.Error(), 0, 0
			}
		}
	}
	return []any{status, bytes, start, now(), kind, detail}
}

// The TLS settings for the batch: the system's authorities, or those in cacert; an error when the
// file cannot be used, which each https request fails with.
func tlsFor(cacert string) (*tls.Config, error) {
	config := &tls.Config{MinVersion: tls.VersionTLS12}
	if cacert == "" {
		return config, nil
	}
	pem, err := os.ReadFile(cacert)
	if err != nil {
		return config, fmt.Errorf("cacert: %w", err)
	}
	config.RootCAs = x509.NewCertPool()
	if !config.RootCAs.AppendCertsFromPEM(pem) {
		return config, fmt.Errorf("cacert: no certificate in %q", cacert)
	}
	return config, nil
}

func threadCount() int {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0
	}
	return len(entries)
}

func run(b batch) answer {
	c := b.Concurrency
	if c < 1 {
		c = 1
	}
	keepAlive := b.KeepAlive == nil || *b.KeepAlive
	tlsConfig, tlsErr := tlsFor(b.CACert)
	transport := &http.Transport{
		TLSClientConfig:     tlsConfig,
		Proxy:               nil, // never the environment's proxy: a model never measures one
		DialContext:         (&net.Dialer{Timeout: time.Duration(b.ConnectTimeoutS * float64(time.Second))}).DialContext,
		MaxConnsPerHost:     c,
		MaxIdleConnsPerHost: c,
		MaxIdleConns:        c,
		DisableKeepAlives:   !keepAlive,
		DisableCompression:  true,
	}
	client := &http.Client{Transport: transport, Timeout: time.Duration(b.TimeoutS * float64(time.Second))}

	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	peak := threadCount()
	done := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() { // the peak thread count while the batch runs (the runtime adds threads)
		defer sampler.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if n := threadCount(); n > peak {
					peak = n
				}
			}
		}
	}()

	outcomes := make([][]any, len(b.URLs))
	slots := make(chan struct{}, c)
	var wg sync.WaitGroup
	t0 := now()
	for i, u := range b.URLs {
		slots <- struct{}{}
		wg.Add(1)
		go func(i int, u string) {
			defer wg.Done()
			outcomes[i] = fetchOne(client, u, keepAlive, tlsErr)
			<-slots
		}(i, u)
	}
	wg.Wait()
	wall := now() - t0
	transport.CloseIdleConnections() // connections close with the batch
	close(done)
	sampler.Wait()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := func(r syscall.Rusage) float64 {
		return float64(r.Utime.Sec+r.Stime.Sec) + float64(r.Utime.Usec+r.Stime.Usec)/1e6
	}
	return answer{Protocol: 1, WallS: wall, CPUS: cpu(after) - cpu(before),
		VolCsw: after.Nvcsw - before.Nvcsw, InvolCsw: after.Nivcsw - before.Nivcsw,
		RSSStartKiB: before.Maxrss, MaxRSSKiB: after.Maxrss, Threads: peak, Outcomes: outcomes}
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-h" || os.Args[1] == "--help") {
		fmt.Println("go_goroutines: speaks iobench's batch protocol on stdin and stdout " +
			"(docs/reference_protocol.md); a goroutine per request, at most C at once.")
		return
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<30)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		var b batch
		if err := json.Unmarshal([]byte(line), &b); err != nil {
			fmt.Fprintln(os.Stderr, "go_goroutines: unreadable batch:", err)
			os.Exit(2)
		}
		if b.Protocol != 0 && b.Protocol != 1 {
			fmt.Fprintf(os.Stderr, "go_goroutines: protocol %d is not 1\n", b.Protocol)
			os.Exit(2)
		}
		if b.TimeoutS <= 0 {
			b.TimeoutS = 30
		}
		if b.ConnectTimeoutS <= 0 {
			b.ConnectTimeoutS = 5
		}
		a := run(b)
		text, _ := json.Marshal(a)
		out.Write(text)
		out.WriteByte('\n')
		out.Flush()
	}
}
