/* uring_iowq_cpu: whose CPU is io-wq's? Plain C against liburing, no iobench code.
 *
 * io_uring runs an operation that cannot complete inline or wait on a poll in io-wq, its kernel
 * worker threads ("iou-wrk-<tid>"). This program forces that (IOSQE_ASYNC on every read) with
 * reads of /dev/zero, work the workers do with the CPU, and prints the process's CPU
 * (getrusage(RUSAGE_SELF)), the calling thread's alone (RUSAGE_THREAD) and the most threads
 * /proc/self/task listed while the reads ran. When SELF is well above THREAD and the thread count
 * rose, the workers are threads of this process and RUSAGE_SELF (what iobench's cpu_us_per_req
 * reads) counts their CPU.
 *   uring_iowq_cpu [READS]   (default 4000 reads of 1 MiB)
 * Exit 0; 1 when io_uring is refused here. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum { kDepth = 16, kChunk = 1 << 20 };

static double cpu_s(int who) {
  struct rusage u;
  getrusage(who, &u);
  return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 +
         (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec / 1e6;
}

static int threads(void) {
  DIR* d = opendir("/proc/self/task");
  int n = 0;
  if (d == NULL) return -1;
  for (struct dirent* e; (e = readdir(d)) != NULL;) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

int main(int argc, char** argv) {
  if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
    puts("usage: uring_iowq_cpu [READS]  (reads of 1 MiB from /dev/zero, forced through io-wq)");
    return 0;
  }
  const long reads = argc > 1 ? atol(argv[1]) : 4000;
  if (reads <= 0) {
    fprintf(stderr, "uring_iowq_cpu: READS must be a positive number\n");
    return 2;
  }
  struct io_uring ring;
  int rc = io_uring_queue_init(kDepth, &ring, 0);
  if (rc < 0) {
    fprintf(stderr, "uring_iowq_cpu: io_uring_setup: %s\n", strerror(-rc));
    return 1;
  }
  const int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  static char buffers[kDepth][kChunk];
  const double self0 = cpu_s(RUSAGE_SELF), thread0 = cpu_s(RUSAGE_THREAD);
  int most = threads();
  long submitted = 0, done = 0;
  while (done < reads) {
    while (submitted < reads && submitted - done < kDepth) {
      struct io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      io_uring_prep_read(sqe, fd, buffers[submitted % kDepth], kChunk, 0);
      sqe->flags |= IOSQE_ASYNC; /* to io-wq, whatever the file could do inline */
      ++submitted;
    }
    struct io_uring_cqe* cqe;
    io_uring_submit_and_wait(&ring, 1);
    while (io_uring_peek_cqe(&ring, &cqe) == 0) {
      io_uring_cqe_seen(&ring, cqe);
      ++done;
    }
    const int t = threads();
    if (t > most) most = t;
  }
  const double self = cpu_s(RUSAGE_SELF) - self0, thread = cpu_s(RUSAGE_THREAD) - thread0;
  printf("reads %ld x 1 MiB through io-wq: RUSAGE_SELF %.3f s, RUSAGE_THREAD (caller) %.3f s, "
         "threads up to %d\n", reads, self, thread, most);
  close(fd);
  io_uring_queue_exit(&ring);
  return 0;
}
