/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-employee-item.h"

struct _PurserEmployeeItem
{
  GObject parent_instance;

  char *id;
  char *name;
  char *email;
  char *department;
  char *team;
  char *status;
  gboolean licensed;
};

G_DEFINE_FINAL_TYPE (PurserEmployeeItem, purser_employee_item, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_EMAIL,
  PROP_DEPARTMENT,
  PROP_TEAM,
  PROP_STATUS,
  PROP_LICENSED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
purser_employee_item_finalize (GObject *object)
{
  PurserEmployeeItem *self = PURSER_EMPLOYEE_ITEM (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->email);
  g_free (self->department);
  g_free (self->team);
  g_free (self->status);
  G_OBJECT_CLASS (purser_employee_item_parent_class)->finalize (object);
}

static void
purser_employee_item_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PurserEmployeeItem *self = PURSER_EMPLOYEE_ITEM (object);

  switch (prop_id)
    {
      case PROP_ID:
        g_value_set_string (value, self->id);
        break;

      case PROP_NAME:
        g_value_set_string (value, self->name);
        break;

      case PROP_EMAIL:
        g_value_set_string (value, self->email);
        break;

      case PROP_DEPARTMENT:
        g_value_set_string (value, self->department);
        break;

      case PROP_TEAM:
        g_value_set_string (value, self->team);
        break;

      case PROP_STATUS:
        g_value_set_string (value, self->status);
        break;

      case PROP_LICENSED:
        g_value_set_boolean (value, self->licensed);
        break;

      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
purser_employee_item_class_init (PurserEmployeeItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = purser_employee_item_finalize;
  object_class->get_property = purser_employee_item_get_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, flags);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  properties[PROP_EMAIL] = g_param_spec_string ("email", NULL, NULL, NULL, flags);
  properties[PROP_DEPARTMENT] = g_param_spec_string ("department", NULL, NULL, NULL, flags);
  properties[PROP_TEAM] = g_param_spec_string ("team", NULL, NULL, NULL, flags);
  properties[PROP_STATUS] = g_param_spec_string ("status", NULL, NULL, NULL, flags);
  properties[PROP_LICENSED] = g_param_spec_boolean ("licensed", NULL, NULL, FALSE, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
purser_employee_item_init (PurserEmployeeItem *self)
{
}

PurserEmployeeItem *
purser_employee_item_new (const char *id, const char *name, const char *email,
                          const char *department, const char *team, const char *status,
                          gboolean licensed)
{
  PurserEmployeeItem *self;

  g_return_val_if_fail (id != NULL, NULL);

  self = g_object_new (PURSER_TYPE_EMPLOYEE_ITEM, NULL);
  self->id = g_strdup (id);
  self->name = g_strdup (name);
  self->email = g_strdup (email);
  self->department = g_strdup (department);
  self->team = g_strdup (team);
  self->status = g_strdup (status);
  self->licensed = licensed;
  return self;
}

const char *
purser_employee_item_get_id (PurserEmployeeItem *self)
{
  g_return_val_if_fail (PURSER_IS_EMPLOYEE_ITEM (self), NULL);
  return self->id;
}

const char *
purser_employee_item_get_name (PurserEmployeeItem *self)
{
  g_return_val_if_fail (PURSER_IS_EMPLOYEE_ITEM (self), NULL);
  return self->name;
}

const char *
purser_employee_item_get_email (PurserEmployeeItem *self)
{
  g_return_val_if_fail (PURSER_IS_EMPLOYEE_ITEM (self), NULL);
  return self->email;
}

const char *
purser_employee_item_get_department (PurserEmployeeItem *self)
{
  g_return_val_if_fail (PURSER_IS_EMPLOYEE_ITEM (self), NULL);
  return self->department;
}

const char *
purser_employee_item_get_team (PurserEmployeeItem *self)
{
  g_return_val_if_fail (PURSER_IS_EMPLOYEE_ITEM (self), NULL);
  return self->team;
}

const char *
purser_employee_item_get_status (PurserEmployeeItem *self)
{
  g_return_val_if_fail (PURSER_IS_EMPLOYEE_ITEM (self), NULL);
  return self->status;
}

gboolean
purser_employee_item_get_licensed (PurserEmployeeItem *self)
{
  g_return_val_if_fail (PURSER_IS_EMPLOYEE_ITEM (self), FALSE);
  return self->licensed;
}
