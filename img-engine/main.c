#include <stdio.h>
int main(void)
{
    puts("img-engine: not built yet");
    return 1;
}
