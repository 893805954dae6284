"""Buying apples (book 5.4.1): forward and backward through two multiplication nodes.

    apple      100 ─┐
                    ×── 200 ─┐
    apple_num    2 ─┘        ×── price 220
    tax        1.1 ──────────┘

The backward pass starts from dprice = 1 and multiplies by the *other* input at each
multiplication node (곱셈 노드), so the price rises 2.2 per yen of apple price, 110 per apple
and 200 per unit of tax.

Run from anywhere: ``python examples/buy_apple.py``.
"""

from backprop import MulLayer


def main() -> None:
    apple = 100
    apple_num = 2
    tax = 1.1

    mul_apple_layer = MulLayer()
    mul_tax_layer = MulLayer()

    # forward
    apple_price = mul_apple_layer.forward(apple, apple_num)
    price = mul_tax_layer.forward(apple_price, tax)

    # backward
    dprice = 1
    dapple_price, dtax = mul_tax_layer.backward(dprice)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)

    # :g prints 220, not the 220.00000000000003 of binary floating point
    print(f"price: {price:g}")
    print(f"dapple: {dapple:g}")
    print(f"dapple_num: {dapple_num:g}")
    print(f"dtax: {dtax:g}")


if __name__ == "__main__":
    main()
