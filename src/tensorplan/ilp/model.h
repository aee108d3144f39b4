// A mixed-integer linear program, built in memory before any solver sees it: columns with bounds,
// objective coefficients and types, and rows lower <= a.x <= upper stored compressed by row, so the
// solver receives the whole matrix at once. Minimisation only.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace tensorplan::ilp {

inline constexpr double kInfinity = std::numeric_limits<double>::infinity();

enum class ColumnType : std::uint8_t {
  kContinuous,
  kInteger,
  kBinary,  // integer in [0, 1]
};

class Model {
 public:
  // Adds a column and returns its index. Binary columns get bounds [0, 1] whatever is passed.
  int add_column(ColumnType type, double lower, double upper, double objective = 0);
  int add_binary(double objective = 0) { return add_column(ColumnType::kBinary, 0, 1, objective); }

  // Adds the row lower <= sum coefficients[i] * x[columns[i]] <= upper and returns its index.
  // Use -kInfinity / kInfinity for a missing side. Columns must exist; repeats are summed.
  int add_row(std::span<const int> columns, std::span<const double> coefficients, double lower,
              double upper);

  void set_objective(int column, double coefficient);
  void set_bounds(int column, double lower, double upper);

  int num_columns() const { return static_cast<int>(lower_.size()); }
  int num_rows() const { return static_cast<int>(row_lower_.size()); }
  int num_integer_columns() const;
  std::int64_t num_nonzeros() const { return static_cast<std::int64_t>(row_columns_.size()); }

  // Objective value of `values` (one per column).
  double objective_value(std::span<const double> values) const;
  // True if `values` satisfies bounds, integrality and every row within `tolerance`. On failure,
  // `why` (if given) names the first violated column or row.
  bool is_feasible(std::span<const double> values, double tolerance = 1e-6,
                   std::string* why = nullptr) const;

  // Raw access for solvers: columns.
  const std::vector<double>& column_lower() const { return lower_; }
  const std::vector<double>& column_upper() const { return upper_; }
  const std::vector<double>& objective() const { return objective_; }
  const std::vector<ColumnType>& column_types() const { return types_; }
  // Rows, compressed: row r holds entries [row_starts()[r], row_starts()[r + 1]).
  const std::vector<std::int64_t>& row_starts() const { return row_starts_; }
  const std::vector<int>& row_columns() const { return row_columns_; }
  const std::vector<double>& row_values() const { return row_values_; }
  const std::vector<double>& row_lower() const { return row_lower_; }
  const std::vector<double>& row_upper() const { return row_upper_; }

 private:
  std::vector<double> lower_, upper_, objective_;
  std::vector<ColumnType> types_;
  std::vector<std::int64_t> row_starts_{0};
  std::vector<int> row_columns_;
  std::vector<double> row_values_;
  std::vector<double> row_lower_, row_upper_;
};

}  // namespace tensorplan::ilp
