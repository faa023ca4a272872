#include <stdio.h>
int main(void)
{
	puts("florabatch " FB_VERSION);
	return 0;
}
