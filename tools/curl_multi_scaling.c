/* curl_multi_scaling: how libcurl's multi interface scales with the number of transfers in
 * flight, with no iobench code in the way.
 *
 * One multi handle, driven by curl_multi_socket_action from an epoll loop (the pattern of
 * libcurl's own ephiperfifo example), runs N = R x C GETs of one URL with C transfers in flight:
 * C easy handles, each re-added with the next request when its transfer is done, so connections
 * are kept alive and reused from the multi handle's cache, as in iobench's curl_multi model. For
 * each C it prints the makespan, the process CPU per request, and the time spent inside
 * curl_multi_add_handle, curl_multi_remove_handle, curl_multi_socket_action and
 * curl_multi_cleanup, per request.
 *
 * Modes (run alternately for each C, so a busy machine hurts them alike):
 *   default  libcurl as it comes.
 *   fresh    CURLOPT_FRESH_CONNECT on the transfers added while no connection can be idle (the
 *            first wave of the batch: the cache starts empty and every connection in it is busy),
 *            and CURLOPT_FORBID_REUSE on the transfers added when no request is left to start
 *            after them (nothing could reuse their connections). Neither changes which
 *            connections are reused; both skip a walk over libcurl's connection cache.
 *
 * What it shows (libcurl 7.88.1, Debian 12; 2-core VM shared with other work, mock_server
 * --threads 2, 100 ms delay; medians of 3 alternating runs):
 *
 *   N = C       wall s           CPU us/request   remove_handle us/req   cleanup ms
 *               default  fresh   default  fresh   default  fresh         default  fresh
 *   1,000       0.23     0.25     78       65       3.9     0.3           20       1
 *   2,000       0.41     0.42     93       77      20.8     0.8           72       0
 *   4,000       1.36     0.93    137       83      57.3     8.6          183       0
 *   8,000       2.98     1.97    191       80      71.2     9.6          303       0
 *
 * By default the CPU per request grows with C: two walks over the connection cache's list for
 * the one host:port, each O(C) per transfer (url.c ConnectionExists, inside socket_action; multi.c
 * close_connect_only, inside remove_handle), and curl_multi_cleanup closing C connections. With
 * the two options set where they cannot change reuse, it stays flat. With N = 2 x C (--rounds 2)
 * the second wave reuses the first wave's connections, so both walks come back for it: at C =
 * 8,000, 158 us per request against 185-200 by default.
 *
 * usage: curl_multi_scaling [--rounds R] [--repeat K] [--modes default,fresh] URL C [C ...]
 * Start a server first, e.g. build/bin/mock_server --port-file /tmp/p --threads 2, then
 *   build/bin/curl_multi_scaling "$(cat /tmp/p)/x?delay=100ms" 1000 2000 4000 8000
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum { kMaxEvents = 1024, kMaxFd = 1 << 20 };

struct run {
  CURLM *multi;
  int epfd;
  long timeout_ms;        /* from the timer callback: -1 none, 0 now */
  unsigned char *watched; /* per fd: the epoll events registered, 0 none */
  CURL **handles;
  size_t n, window, next, done, failed, completed_before;
  long connects;
  int fresh;
  double add_s, remove_s, action_s;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static size_t discard(char *data, size_t size, size_t n, void *user) {
  (void)data;
  (void)user;
  return size * n;
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *user, void *socketp) {
  struct run *r = user;
  struct epoll_event ev;
  (void)easy;
  (void)socketp;
  if (s < 0 || s >= kMaxFd) return -1;
  if (what == CURL_POLL_REMOVE) {
    if (r->watched[s]) epoll_ctl(r->epfd, EPOLL_CTL_DEL, s, NULL);
    r->watched[s] = 0;
    return 0;
  }
  memset(&ev, 0, sizeof ev);
  ev.data.fd = s;
  ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
  if (epoll_ctl(r->epfd, r->watched[s] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0) {
    perror("epoll_ctl");
    return -1;
  }
  r->watched[s] = (unsigned char)ev.events;
  return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *user) {
  (void)multi;
  ((struct run *)user)->timeout_ms = timeout_ms;
  return 0;
}

/* Fills every free handle with the next request. */
static void start(struct run *r, CURL **free_handles, size_t *nfree, const char *url) {
  /* Nothing can reuse the connections of this pass's transfers if it starts all that is left. */
  const int last_pass = r->next + *nfree >= r->n;
  while (*nfree > 0 && r->next < r->n) {
    CURL *h = free_handles[--*nfree];
    double t0;
    r->next++;
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (r->fresh) {
      /* No transfer has finished yet, so every cached connection is busy: none to reuse. */
      curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, r->done == 0 ? 1L : 0L);
      curl_easy_setopt(h, CURLOPT_FORBID_REUSE, last_pass ? 1L : 0L);
    }
    t0 = now_s();
    curl_multi_add_handle(r->multi, h);
    r->add_s += now_s() - t0;
  }
}

static void collect(struct run *r, CURL **free_handles, size_t *nfree) {
  int left = 0;
  CURLMsg *msg;
  while ((msg = curl_multi_info_read(r->multi, &left)) != NULL) {
    CURL *h;
    long code = 0, connects = 0;
    double t0;
    if (msg->msg != CURLMSG_DONE) continue;
    h = msg->easy_handle;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
    if (msg->data.result != CURLE_OK || code != 200) {
      if (r->failed++ < 3) {
        fprintf(stderr, "  failed: %s (status %ld)\n", curl_easy_strerror(msg->data.result), code);
      }
    }
    r->connects += connects;
    r->done++;
    t0 = now_s();
    curl_multi_remove_handle(r->multi, h);
    r->remove_s += now_s() - t0;
    free_handles[(*nfree)++] = h;
  }
}

static void action(struct run *r, curl_socket_t s, int flags) {
  int running = 0;
  const double t0 = now_s();
  curl_multi_socket_action(r->multi, s, flags, &running);
  r->action_s += now_s() - t0;
}

static int run_batch(const char *url, size_t c, size_t rounds, const char *mode,
                     unsigned char *watched) {
  struct run r;
  struct epoll_event events[kMaxEvents];
  CURL **free_handles;
  size_t nfree = 0, i;
  double t0, cpu0, wall, cpu, cleanup_s;

  memset(&r, 0, sizeof r);
  r.watched = watched;
  r.n = c * rounds;
  r.window = c;
  r.timeout_ms = -1;
  r.fresh = strcmp(mode, "fresh") == 0;
  r.handles = calloc(c, sizeof *r.handles);
  free_handles = calloc(c, sizeof *free_handles);
  r.epfd = epoll_create1(EPOLL_CLOEXEC);
  for (i = 0; i < c; ++i) {
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    r.handles[i] = h;
    free_handles[nfree++] = h;
  }
  r.multi = curl_multi_init();
  curl_multi_setopt(r.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(r.multi, CURLMOPT_SOCKETDATA, &r);
  curl_multi_setopt(r.multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(r.multi, CURLMOPT_TIMERDATA, &r);
  curl_multi_setopt(r.multi, CURLMOPT_MAXCONNECTS, (long)c);

  t0 = now_s();
  cpu0 = cpu_s();
  start(&r, free_handles, &nfree, url);
  while (r.done < r.n) {
    int nev, k;
    if (r.timeout_ms == 0) {
      r.timeout_ms = -1;
      action(&r, CURL_SOCKET_TIMEOUT, 0);
    } else {
      nev = epoll_wait(r.epfd, events, kMaxEvents, r.timeout_ms < 0 ? 1000 : (int)r.timeout_ms);
      if (nev < 0 && errno != EINTR) {
        perror("epoll_wait");
        return 1;
      }
      if (nev <= 0) {
        r.timeout_ms = -1;
        action(&r, CURL_SOCKET_TIMEOUT, 0);
      }
      for (k = 0; k < nev; ++k) {
        const unsigned ev = events[k].events;
        const int flags = ((ev & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                          ((ev & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                          ((ev & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
        action(&r, events[k].data.fd, flags);
      }
    }
    collect(&r, free_handles, &nfree);
    start(&r, free_handles, &nfree, url);
  }
  /* The batch ends when its connections are closed, as in iobench. */
  {
    const double c0 = now_s();
    curl_multi_cleanup(r.multi);
    cleanup_s = now_s() - c0;
  }
  wall = now_s() - t0;
  cpu = cpu_s() - cpu0;
  printf(
      "%-8s C=%-6zu N=%-6zu wall %7.3f s  cpu %6.1f us/req | per request: add %6.1f us, "
      "remove %6.1f us, socket_action %6.1f us; cleanup %6.1f ms | connects %ld, failed %zu\n",
      mode, c, r.n, wall, cpu * 1e6 / (double)r.n, r.add_s * 1e6 / (double)r.n,
      r.remove_s * 1e6 / (double)r.n, r.action_s * 1e6 / (double)r.n, cleanup_s * 1e3, r.connects,
      r.failed);
  fflush(stdout);
  for (i = 0; i < c; ++i) curl_easy_cleanup(r.handles[i]);
  free(r.handles);
  free(free_handles);
  close(r.epfd);
  return r.failed != 0;
}

int main(int argc, char **argv) {
  size_t rounds = 1, repeat = 1, k;
  const char *modes = "default,fresh";
  const char *url = NULL;
  size_t cs[64], ncs = 0, max_c = 0;
  struct rlimit rl;
  unsigned char *watched;
  int a, failed = 0;

  for (a = 1; a < argc; ++a) {
    if (strcmp(argv[a], "--rounds") == 0 && a + 1 < argc) {
      rounds = strtoul(argv[++a], NULL, 10);
    } else if (strcmp(argv[a], "--repeat") == 0 && a + 1 < argc) {
      repeat = strtoul(argv[++a], NULL, 10);
    } else if (strcmp(argv[a], "--modes") == 0 && a + 1 < argc) {
      modes = argv[++a];
    } else if (url == NULL) {
      url = argv[a];
    } else if (ncs < 64) {
      cs[ncs] = strtoul(argv[a], NULL, 10);
      if (cs[ncs] > max_c) max_c = cs[ncs];
      ++ncs;
    }
  }
  if (url == NULL || ncs == 0 || rounds == 0 || max_c == 0) {
    fprintf(stderr,
            "usage: curl_multi_scaling [--rounds R] [--repeat K] [--modes default,fresh] URL C "
            "[C ...]\n");
    return 2;
  }
  /* One descriptor per connection, plus a few. */
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < max_c + 64) {
    fprintf(stderr, "curl_multi_scaling: C=%zu needs more open files than the limit (%lu)\n", max_c,
            (unsigned long)rl.rlim_cur);
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  printf("# %s, N = %zu x C, one multi handle, epoll + curl_multi_socket_action\n", curl_version(),
         rounds);
  watched = calloc(kMaxFd, 1);
  for (k = 0; k < ncs; ++k) {
    size_t rep;
    for (rep = 0; rep < repeat; ++rep) {
      char list[256];
      char *names[16], *save = NULL, *mode;
      int count = 0, m;
      snprintf(list, sizeof list, "%s", modes);
      for (mode = strtok_r(list, ",", &save); mode && count < 16;
           mode = strtok_r(NULL, ",", &save)) {
        names[count++] = mode;
      }
      /* Alternate the order, so that neither mode always runs first. */
      for (m = 0; m < count; ++m) {
        failed |= run_batch(url, cs[k], rounds, names[rep % 2 == 0 ? m : count - 1 - m], watched);
      }
    }
  }
  free(watched);
  curl_global_cleanup();
  return failed;
}
