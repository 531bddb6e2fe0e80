#include <mpisweep/runtime/transport.hpp>

#include <deque>
#include <mutex>

namespace mpisweep::runtime {

namespace {

struct Mailbox {
  std::mutex mutex;
  std::deque<Envelope> queue;
};

class LocalTransport final : public Transport {
 public:
  LocalTransport(int rank, std::shared_ptr<Mailbox> inbox, std::shared_ptr<Mailbox> outbox)
      : rank_(rank), inbox_(std::move(inbox)), outbox_(std::move(outbox)) {}
  int rank() const override { return rank_; }
  int size() const override { return 2; }
  void send(int, Tag tag, std::string bytes) override {
    std::lock_guard lock(outbox_->mutex);
    outbox_->queue.push_back({rank_, tag, std::move(bytes)});
  }
  std::optional<Envelope> poll() override {
    std::lock_guard lock(inbox_->mutex);
    if (inbox_->queue.empty()) return std::nullopt;
    Envelope e = std::move(inbox_->queue.front());
    inbox_->queue.pop_front();
    return e;
  }

 private:
  int rank_;
  std::shared_ptr<Mailbox> inbox_, outbox_;
};

}  // namespace

std::pair<std::unique_ptr<Transport>, std::unique_ptr<Transport>> make_local_pair() {
  auto a = std::make_shared<Mailbox>(), b = std::make_shared<Mailbox>();
  return {std::make_unique<LocalTransport>(0, a, b), std::make_unique<LocalTransport>(1, b, a)};
}

}  // namespace mpisweep::runtime
