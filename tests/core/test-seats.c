/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-seats.h"

/* 20 seats: Engineering allocated 8, Sales allocated 5, Ops and people in no department
 * share the pool of 7. */
static void
make_map (PurserSeatMap *map)
{
  purser_seat_map_init (map, 20);
  purser_seat_map_group (map, "dep_eng", "Engineering")->allocation = 8;
  purser_seat_map_group (map, "dep_eng", NULL)->assigned = 6;
  purser_seat_map_group (map, "dep_sales", "Sales")->allocation = 5;
  purser_seat_map_group (map, "dep_sales", NULL)->assigned = 5;
  purser_seat_map_group (map, "dep_ops", "Ops")->assigned = 4;
  purser_seat_map_group (map, NULL, NULL)->assigned = 1;
}

static void
check_code (const PurserSeatMap *map, PurserSeatChange change, int code)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (purser_seat_map_check (map, change, &error));
  g_assert_error (error, PURSER_CORE_ERROR, code);
  g_test_message ("%s", error->message);
}

static void
test_totals (void)
{
  g_auto (PurserSeatMap) map = { 0 };
  PurserSeatFloor floor;

  make_map (&map);
  g_assert_cmpint (map.groups->len, ==, 4);
  g_assert_cmpint (purser_seat_map_assigned (&map), ==, 16);
  g_assert_cmpint (purser_seat_map_allocated (&map), ==, 13);
  g_assert_cmpint (purser_seat_map_pool (&map), ==, 7);
  g_assert_cmpint (purser_seat_map_pool_assigned (&map), ==, 5);
  g_assert_cmpstr (purser_seat_map_group (&map, NULL, NULL)->name, ==, "No department");
  purser_seat_map_floor (&map, &floor);
  g_assert_cmpint (floor.assigned, ==, 16);
  g_assert_cmpint (floor.allocated, ==, 13);
  g_assert_true (purser_seat_map_check (&map, PURSER_SEAT_CHANGE_LICENSES, NULL));
  g_assert_true (purser_seat_map_check (&map, PURSER_SEAT_CHANGE_ALLOCATION, NULL));
}

static void
test_licenses (void)
{
  g_auto (PurserSeatMap) map = { 0 };
  g_auto (PurserSeatMap) copy = { 0 };

  make_map (&map);

  /* Up to the allocation is fine, one past it is not. */
  purser_seat_map_copy (&map, &copy);
  purser_seat_map_group (&copy, "dep_eng", NULL)->assigned = 8;
  g_assert_true (purser_seat_map_check (&copy, PURSER_SEAT_CHANGE_LICENSES, NULL));
  purser_seat_map_group (&copy, "dep_eng", NULL)->assigned = 9;
  check_code (&copy, PURSER_SEAT_CHANGE_LICENSES, PURSER_CORE_ERROR_ALLOCATION_EXCEEDED);
  purser_seat_map_clear (&copy);

  /* The pool: 7 seats, 5 used; 2 more fit, 3 do not. */
  purser_seat_map_copy (&map, &copy);
  purser_seat_map_group (&copy, "dep_ops", NULL)->assigned = 6;
  g_assert_true (purser_seat_map_check (&copy, PURSER_SEAT_CHANGE_LICENSES, NULL));
  purser_seat_map_group (&copy, NULL, NULL)->assigned = 2;
  check_code (&copy, PURSER_SEAT_CHANGE_LICENSES, PURSER_CORE_ERROR_NOT_ENOUGH_SEATS);
  purser_seat_map_clear (&copy);

  /* More licenses than seats at all. */
  purser_seat_map_copy (&map, &copy);
  copy.purchased = 15;
  check_code (&copy, PURSER_SEAT_CHANGE_LICENSES, PURSER_CORE_ERROR_NOT_ENOUGH_SEATS);

  /* The map copied is independent of the original. */
  g_assert_cmpint (purser_seat_map_group (&map, NULL, NULL)->assigned, ==, 1);
  g_assert_cmpint (map.purchased, ==, 20);
}

static void
test_allocations (void)
{
  g_auto (PurserSeatMap) map = { 0 };
  g_auto (PurserSeatMap) copy = { 0 };

  make_map (&map);

  /* Below the licenses the department holds. */
  purser_seat_map_copy (&map, &copy);
  purser_seat_map_group (&copy, "dep_eng", NULL)->allocation = 5;
  check_code (&copy, PURSER_SEAT_CHANGE_ALLOCATION, PURSER_CORE_ERROR_ALLOCATION_BELOW_ASSIGNED);
  purser_seat_map_group (&copy, "dep_eng", NULL)->allocation = 6;
  g_assert_true (purser_seat_map_check (&copy, PURSER_SEAT_CHANGE_ALLOCATION, NULL));
  purser_seat_map_clear (&copy);

  /* Past the purchased seats. */
  purser_seat_map_copy (&map, &copy);
  purser_seat_map_group (&copy, "dep_ops", NULL)->allocation = 8;
  check_code (&copy, PURSER_SEAT_CHANGE_ALLOCATION, PURSER_CORE_ERROR_ALLOCATION_EXCEEDS_SEATS);
  purser_seat_map_clear (&copy);

  /* Within the purchased seats, but can the pool still hold its licenses? Ops allocated 4
   * leaves 20 - 17 = 3 seats for the 1 person in no department: yes. Sales raised to 8
   * leaves 20 - 16 = 4 for Ops' 4 and the 1: no. */
  purser_seat_map_copy (&map, &copy);
  purser_seat_map_group (&copy, "dep_ops", NULL)->allocation = 4;
  g_assert_true (purser_seat_map_check (&copy, PURSER_SEAT_CHANGE_ALLOCATION, NULL));
  purser_seat_map_clear (&copy);
  purser_seat_map_copy (&map, &copy);
  purser_seat_map_group (&copy, "dep_sales", NULL)->allocation = 7;
  g_assert_true (purser_seat_map_check (&copy, PURSER_SEAT_CHANGE_ALLOCATION, NULL));
  purser_seat_map_group (&copy, "dep_sales", NULL)->allocation = 8;
  check_code (&copy, PURSER_SEAT_CHANGE_ALLOCATION, PURSER_CORE_ERROR_ALLOCATION_EXCEEDS_SEATS);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/purser/core/seats/totals", test_totals);
  g_test_add_func ("/purser/core/seats/licenses", test_licenses);
  g_test_add_func ("/purser/core/seats/allocations", test_allocations);
  return g_test_run ();
}
