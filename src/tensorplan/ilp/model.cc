#include "tensorplan/ilp/model.h"

#include <algorithm>
#include <cmath>

#include "tensorplan/common/error.h"

namespace tensorplan::ilp {

int Model::add_column(ColumnType type, double lower, double upper, double objective) {
  if (type == ColumnType::kBinary) {
    lower = std::max(lower, 0.0);
    upper = std::min(upper, 1.0);
  }
  if (lower > upper)
    fail("ilp: column {} has lower bound {} above upper bound {}", num_columns(), lower, upper);
  lower_.push_back(lower);
  upper_.push_back(upper);
  objective_.push_back(objective);
  types_.push_back(type);
  return num_columns() - 1;
}

int Model::add_row(std::span<const int> columns, std::span<const double> coefficients, double lower,
                   double upper) {
  if (columns.size() != coefficients.size()) {
    fail("ilp: row {} has {} columns but {} coefficients", num_rows(), columns.size(),
         coefficients.size());
  }
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] < 0 || columns[i] >= num_columns()) {
      fail("ilp: row {} names column {}, which does not exist", num_rows(), columns[i]);
    }
    row_columns_.push_back(columns[i]);
    row_values_.push_back(coefficients[i]);
  }
  // CBC expects each column at most once per row: merge repeats in place.
  auto begin = row_columns_.begin() + row_starts_.back();
  if (std::adjacent_find(begin, row_columns_.end()) != row_columns_.end() ||
      !std::is_sorted(begin, row_columns_.end())) {
    std::vector<std::pair<int, double>> entries;
    for (auto i = row_starts_.back(); i < static_cast<std::int64_t>(row_columns_.size()); ++i) {
      entries.emplace_back(row_columns_[i], row_values_[i]);
    }
    std::sort(entries.begin(), entries.end());
    row_columns_.resize(row_starts_.back());
    row_values_.resize(row_starts_.back());
    for (const auto& [column, value] : entries) {
      if (!row_columns_.empty() &&
          static_cast<std::int64_t>(row_columns_.size()) > row_starts_.back() &&
          row_columns_.back() == column) {
        row_values_.back() += value;
      } else {
        row_columns_.push_back(column);
        row_values_.push_back(value);
      }
    }
  }
  row_starts_.push_back(static_cast<std::int64_t>(row_columns_.size()));
  row_lower_.push_back(lower);
  row_upper_.push_back(upper);
  return num_rows() - 1;
}

void Model::set_objective(int column, double coefficient) { objective_.at(column) = coefficient; }

void Model::set_bounds(int column, double lower, double upper) {
  lower_.at(column) = lower;
  upper_.at(column) = upper;
}

int Model::num_integer_columns() const {
  return static_cast<int>(std::count_if(types_.begin(), types_.end(), [](ColumnType type) {
    return type != ColumnType::kContinuous;
  }));
}

double Model::objective_value(std::span<const double> values) const {
  double total = 0;
  for (int c = 0; c < num_columns(); ++c) total += objective_[c] * values[c];
  return total;
}

bool Model::is_feasible(std::span<const double> values, double tolerance, std::string* why) const {
  auto reject = [&](const std::string& message) {
    if (why) *why = message;
    return false;
  };
  if (static_cast<int>(values.size()) != num_columns()) {
    return reject(fmt::format("{} values for {} columns", values.size(), num_columns()));
  }
  for (int c = 0; c < num_columns(); ++c) {
    if (values[c] < lower_[c] - tolerance || values[c] > upper_[c] + tolerance) {
      return reject(
          fmt::format("column {} = {} outside [{}, {}]", c, values[c], lower_[c], upper_[c]));
    }
    if (types_[c] != ColumnType::kContinuous &&
        std::abs(values[c] - std::round(values[c])) > tolerance) {
      return reject(fmt::format("integer column {} = {}", c, values[c]));
    }
  }
  for (int r = 0; r < num_rows(); ++r) {
    double activity = 0;
    for (auto i = row_starts_[r]; i < row_starts_[r + 1]; ++i) {
      activity += row_values_[i] * values[row_columns_[i]];
    }
    const double slack = tolerance * std::max(1.0, std::abs(activity));
    if (activity < row_lower_[r] - slack || activity > row_upper_[r] + slack) {
      return reject(fmt::format("row {}: activity {} outside [{}, {}]", r, activity, row_lower_[r],
                                row_upper_[r]));
    }
  }
  return true;
}

}  // namespace tensorplan::ilp
