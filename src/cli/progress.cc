#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdlib>

namespace piivault::cli {
namespace {

std::FILE* TerminalOrNull() {
  if (std::getenv("PIIVAULT_NO_PROGRESS") != nullptr) return nullptr;
  return ::isatty(STDERR_FILENO) ? stderr : nullptr;
}

}  // namespace

Progress::Progress(std::string label, std::string what, int64_t total)
    : Progress(TerminalOrNull(), std::move(label), std::move(what), total) {}

Progress::Progress(std::FILE* out, std::string label, std::string what,
                   int64_t total)
    : out_(out),
      label_(std::move(label)),
      what_(std::move(what)),
      total_(total),
      start_(std::chrono::steady_clock::now()) {}

Progress Progress::ForTest(std::FILE* out, std::string label, std::string what,
                           int64_t total) {
  return Progress(out, std::move(label), std::move(what), total);
}

Progress::~Progress() {
  if (out_ == nullptr) return;
  Draw();
  std::fputc('\n', out_);
  std::fflush(out_);
}

void Progress::Update(int64_t done) {
  done_ = done;
  if (out_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  Draw();
}

void Progress::Draw() {
  const std::string line = Line(label_, what_, done_, total_,
                                std::chrono::steady_clock::now() - start_);
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
}

std::string Progress::Line(const std::string& label, const std::string& what,
                           int64_t done, int64_t total,
                           std::chrono::duration<double> elapsed) {
  const double seconds = elapsed.count();
  const double rate = seconds > 0 ? done / seconds : 0;
  char line[256];
  if (total <= 0) {
    std::snprintf(line, sizeof line, "\r%s %" PRId64 " %s (%.0f/s)",
                  label.c_str(), done, what.c_str(), rate);
    return line;
  }
  constexpr int kWidth = 30;
  const double fraction =
      std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  const int filled = static_cast<int>(fraction * kWidth);
  std::snprintf(line, sizeof line,
                "\r%s [%s%s] %3.0f%% %" PRId64 "/%" PRId64 " %s (%.0f/s)",
                label.c_str(), std::string(filled, '#').c_str(),
                std::string(kWidth - filled, '.').c_str(), fraction * 100, done,
                total, what.c_str(), rate);
  return line;
}

}  // namespace piivault::cli
