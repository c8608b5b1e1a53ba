# The throwaway PostgreSQL server of the tests, as the ctest fixture
# "postgres": postgres_start runs scripts/start-postgres before the first test
# that requires the fixture and postgres_stop removes the server after the
# last one. Tests find the server through the file named by the environment
# variable PIIVAULT_TEST_PG_ENV (tests/support/postgres_env.h reads it).
#
# To mark a GoogleTest target's tests as needing it, call instead of
# gtest_discover_tests (any gtest_discover_tests arguments may follow):
#
#   piivault_requires_postgres(my_test PROPERTIES TIMEOUT 300)
#
# or, for add_test() tests:
#
#   set_tests_properties(t PROPERTIES ${PIIVAULT_POSTGRES_TEST_PROPERTIES})
#
# (ENVIRONMENT is taken by these properties: add other variables to it with
# set_property(TEST t APPEND PROPERTY ENVIRONMENT ...).)

set(PIIVAULT_POSTGRES_ENV_FILE ${CMAKE_BINARY_DIR}/test-postgres.env)
set(PIIVAULT_POSTGRES_TEST_PROPERTIES
    FIXTURES_REQUIRED postgres
    ENVIRONMENT PIIVAULT_TEST_PG_ENV=${PIIVAULT_POSTGRES_ENV_FILE})

add_test(NAME postgres_start
         COMMAND ${PROJECT_SOURCE_DIR}/scripts/start-postgres
                 ${PIIVAULT_POSTGRES_ENV_FILE})
set_tests_properties(postgres_start PROPERTIES FIXTURES_SETUP postgres
                                               TIMEOUT 120)
add_test(NAME postgres_stop
         COMMAND ${PROJECT_SOURCE_DIR}/scripts/stop-postgres
                 ${PIIVAULT_POSTGRES_ENV_FILE})
set_tests_properties(postgres_stop PROPERTIES FIXTURES_CLEANUP postgres
                                              TIMEOUT 120)

# gtest_discover_tests(<target> ...) with the fixture's properties added to
# its PROPERTIES (merged into the caller's PROPERTIES, if any).
function(piivault_requires_postgres target)
  set(args ${ARGN})
  list(FIND args PROPERTIES at)
  if(at EQUAL -1)
    list(APPEND args PROPERTIES ${PIIVAULT_POSTGRES_TEST_PROPERTIES})
  else()
    math(EXPR at "${at} + 1")
    list(INSERT args ${at} ${PIIVAULT_POSTGRES_TEST_PROPERTIES})
  endif()
  gtest_discover_tests(${target} ${args})
endfunction()
