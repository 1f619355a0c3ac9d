// SPDX-License-Identifier: Apache-2.0
// Child processes with posix_spawn and one poll() loop over all their pipes: no thread per child,
// and no pipe left to fill up (a child blocked on a full stderr pipe would never exit). Every pipe
// is close-on-exec, so a child holds only its own ends and each read end sees EOF when its child
// is gone.
#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>
#include <system_error>

extern char** environ;

namespace dmakit::cli {
namespace {

[[noreturn]] void throw_errno(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

// A started child and the read ends of its stdout and stderr pipes. Ending the object ends the
// child, so that an exception leaves no process behind.
struct Running {
  std::size_t index = 0;
  pid_t pid = -1;
  std::array<int, 2> fds{-1, -1};  ///< stdout, stderr; -1 once at EOF
  CommandResult result;

  Running() = default;
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
  ~Running() {
    for (int& fd : fds)
      if (fd >= 0) close(fd);
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
  [[nodiscard]] bool at_eof() const { return fds[0] < 0 && fds[1] < 0; }
};

std::unique_ptr<Running> spawn(const Command& command, std::size_t index) {
  auto child = std::make_unique<Running>();
  child->index = index;
  std::array<int, 2> out{-1, -1};
  std::array<int, 2> err{-1, -1};
  if (pipe2(out.data(), O_CLOEXEC) != 0) throw_errno(errno, "pipe");
  if (pipe2(err.data(), O_CLOEXEC) != 0) {
    const int error = errno;
    close(out[0]);
    close(out[1]);
    throw_errno(error, "pipe");
  }
  child->fds = {out[0], err[0]};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  if (!command.dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, command.dir.c_str());
  std::vector<char*> argv;
  for (const std::string& arg : command.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const std::string& program = command.argv.at(0);
  const int rc =
      program.find('/') == std::string::npos
          ? posix_spawnp(&child->pid, program.c_str(), &actions, nullptr, argv.data(), environ)
          : posix_spawn(&child->pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    child->pid = -1;
    throw_errno(rc, program);
  }
  return child;
}

// Reads what is there from the child's ready pipes; EOF or a read error closes the pipe.
void drain(Running& child, const pollfd* polled) {
  for (std::size_t i = 0; i < 2; ++i) {
    if (child.fds[i] < 0 || polled[i].revents == 0) continue;
    std::array<char, 65536> buffer;
    const ssize_t n = read(child.fds[i], buffer.data(), buffer.size());
    if (n > 0) {
      (i == 0 ? child.result.out : child.result.err).append(buffer.data(), std::size_t(n));
    } else if (n == 0 || errno != EINTR) {
      close(child.fds[i]);
      child.fds[i] = -1;
    }
  }
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::vector<CommandResult> run_commands(const std::vector<Command>& commands, unsigned jobs,
                                        bool stop_on_failure) {
  std::vector<CommandResult> results(commands.size());
  std::vector<std::unique_ptr<Running>> running;
  std::size_t next = 0;
  bool stopping = false;
  while (true) {
    while (!stopping && next < commands.size() && running.size() < std::max(jobs, 1u)) {
      running.push_back(spawn(commands[next], next));
      ++next;
    }
    if (running.empty()) break;
    std::vector<pollfd> polled;
    for (const auto& child : running)
      for (const int fd : child->fds) polled.push_back({fd, POLLIN, 0});  // fd -1 is ignored
    if (poll(polled.data(), polled.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "poll");
    }
    for (std::size_t i = 0; i < running.size(); ++i) drain(*running[i], &polled[2 * i]);
    for (auto it = running.begin(); it != running.end();) {
      Running& child = **it;
      if (!child.at_eof()) {
        ++it;
        continue;
      }
      int status = 0;
      while (waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
      }
      child.pid = -1;
      child.result.exit_code = exit_code_of(status);
      const bool failed = child.result.exit_code != 0 && !child.result.stopped;
      results[child.index] = std::move(child.result);
      it = running.erase(it);
      if (failed && stop_on_failure && !stopping) {
        stopping = true;
        for (const auto& other : running) {
          other->result.stopped = true;
          kill(other->pid, SIGTERM);
        }
      }
    }
  }
  return results;
}

}  // namespace dmakit::cli
