"""Buying apples and oranges (book 5.4.2): multiplication and addition nodes together.

    apple        100 ─┐
                      ×── 200 ─┐
    apple_num      2 ─┘        +── 650 ─┐
    orange       150 ─┐        │        ×── price 715
                      ×── 450 ─┘        │
    orange_num     3 ─┘                 │
    tax          1.1 ───────────────────┘

The addition node (덧셈 노드) passes the upstream gradient on unchanged to both inputs; each
multiplication node (곱셈 노드) passes it on times the other input.

Run from anywhere: ``python examples/buy_apple_orange.py``.
"""

from backprop import AddLayer, MulLayer


def main() -> None:
    apple = 100
    apple_num = 2
    orange = 150
    orange_num = 3
    tax = 1.1

    mul_apple_layer = MulLayer()
    mul_orange_layer = MulLayer()
    add_apple_orange_layer = AddLayer()
    mul_tax_layer = MulLayer()

    # forward
    apple_price = mul_apple_layer.forward(apple, apple_num)
    orange_price = mul_orange_layer.forward(orange, orange_num)
    all_price = add_apple_orange_layer.forward(apple_price, orange_price)
    price = mul_tax_layer.forward(all_price, tax)

    # backward
    dprice = 1
    dall_price, dtax = mul_tax_layer.backward(dprice)
    dapple_price, dorange_price = add_apple_orange_layer.backward(dall_price)
    dorange, dorange_num = mul_orange_layer.backward(dorange_price)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)

    # :g prints 715, not the 715.0000000000001 of binary floating point
    print(f"price: {price:g}")
    print(f"dapple_num: {dapple_num:g}")
    print(f"dapple: {dapple:g}")
    print(f"dorange: {dorange:g}")
    print(f"dorange_num: {dorange_num:g}")
    print(f"dtax: {dtax:g}")


if __name__ == "__main__":
    main()
