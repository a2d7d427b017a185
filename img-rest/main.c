#include <stdio.h>
int main(void)
{
    puts("img-rest: not built yet");
    return 1;
}
