#include "tests/support/pg_client.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

namespace optischema::testing {

PgClient::PgClient(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) ADD_FAILURE() << "connect: " << PQerrorMessage(conn_);
}

PgClient::~PgClient() { PQfinish(conn_); }

void PgClient::Run(const std::string& sql) {
  PGresult* res = PQexec(conn_, sql.c_str());
  const ExecStatusType status = PQresultStatus(res);
  EXPECT_TRUE(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
      << sql << ": " << PQerrorMessage(conn_);
  PQclear(res);
}

void PgClient::Send(const std::string& sql) {
  EXPECT_EQ(PQsendQuery(conn_, sql.c_str()), 1) << sql << ": " << PQerrorMessage(conn_);
}

void PgClient::Finish() {
  while (PGresult* res = PQgetResult(conn_)) PQclear(res);
}

int PgClient::pid() const { return PQbackendPID(conn_); }

}  // namespace optischema::testing
