#include "config.h"

#include "store.h"

int store_schema_version(void)
{
	return 1;
}
